/**
 * Exercise 6, given: the chat line protocol, apart from the commands (chat.ts). What the server
 * sends a client ({@link Reply}) and how a reply reads on TCP, the greeting and help texts, and
 * how a line splits into words and which words are valid names.
 */
import type { HistoryEntry, RoomEvent } from './room_types.js';

/**
 * What the server sends a client. On TCP each reply is its `text` (or `message`) as one or more
 * lines; on a WebSocket it is this object as JSON.
 */
export type Reply =
  | {
      readonly type: 'ok';
      readonly cmd: string;
      readonly text: string;
      readonly name?: string;
      readonly room?: string;
      readonly members?: readonly string[];
    }
  | { readonly type: 'error'; readonly message: string }
  | {
      readonly type: 'history';
      readonly room: string;
      readonly messages: readonly HistoryEntry[];
      readonly text: string;
    }
  | {
      readonly type: 'message';
      readonly room: string;
      readonly id: string;
      readonly at: number;
      readonly name: string;
      readonly text: string;
      readonly line: string;
    }
  | {
      readonly type: 'notice';
      readonly room: string;
      readonly name: string;
      readonly event: 'joined' | 'left';
      readonly text: string;
    };

/** A command's answer: `ok('set-name', 'ok your name is ada', { name: 'ada' })`. */
export const ok = (
  cmd: string,
  text: string,
  extra: { name?: string; room?: string; members?: readonly string[] } = {},
): Reply => ({ type: 'ok', cmd, text, ...extra });

/** A refusal or failure; on TCP the message is the line. */
export const error = (message: string): Reply => ({ type: 'error', message });

/** How a line said in a room looks: `lobby - ada: hello`. */
export const messageLine = (room: string, name: string, text: string): string => `${room} - ${name}: ${text}`;

/** The recent lines of a room, shown after `joined <room>!`. */
export const history = (room: string, messages: readonly HistoryEntry[]): Reply => ({
  type: 'history',
  room,
  messages,
  text: ['the most recent messages are:', ...messages.map((m) => messageLine(room, m.name, m.text))].join('\n'),
});

/** A pushed event as a reply: a message, or a join/part notice (`* ada has joined lobby`). */
export function eventReply(event: RoomEvent): Reply {
  switch (event.type) {
    case 'message':
      return {
        type: 'message',
        room: event.room,
        id: event.id,
        at: event.at,
        name: event.name,
        text: event.text,
        line: messageLine(event.room, event.name, event.text),
      };
    case 'joined':
      return {
        type: 'notice',
        room: event.room,
        name: event.name,
        event: 'joined',
        text: `* ${event.name} has joined ${event.room}`,
      };
    case 'left':
      return {
        type: 'notice',
        room: event.room,
        name: event.name,
        event: 'left',
        text: `* ${event.name} has left ${event.room}`,
      };
  }
}

/** A reply as the text a TCP client sees (without the newline and prompt). */
export function replyText(reply: Reply): string {
  switch (reply.type) {
    case 'error':
      return reply.message;
    case 'message':
      return reply.line;
    default:
      return reply.text;
  }
}

/** The greeting's second half, after `connected to <node>! `. */
export const GREETING_HINT = "'set-name <name>' and 'join <room>' to get started, 'help' for more";

/** The answer to `help`. */
export const HELP = [
  'commands:',
  '  set-name <name>        choose your name: one word, letters, digits, - _ .',
  '  join <room>            join a room and see its recent lines',
  '  say <room> <message>   say something to everyone in a room you joined',
  '  leave <room>           leave a room',
  '  who <room>             who is in a room',
  '  help                   this list',
  '  quit                   leave your rooms and disconnect',
].join('\n');

/** Longest name or room name, in characters. */
export const MAX_WORD = 32;
const WORD = /^[\p{L}\p{N}_.#-]+$/u;

/**
 * Check a user name (`what = 'name'`) or room name: one word of 1 to {@link MAX_WORD}
 * letters, digits, `-`, `_`, `.` or `#`. @returns what is wrong, or undefined if it is fine.
 */
export function checkWord(word: string | undefined, what: 'name' | 'room'): string | undefined {
  if (word && [...word].length <= MAX_WORD && WORD.test(word)) return undefined;
  return `sorry, a ${what} is one word of up to ${MAX_WORD} letters, digits, '-', '_', '.' or '#'`;
}

/** The words of a line, split on spaces and tabs. */
export const words = (line: string): string[] => line.split(/[ \t]+/).filter((w) => w !== '');

/** What follows the first `n` words of `line`, trimmed (the message of `say <room> <message>`). */
export function rest(line: string, n: number): string {
  const m = new RegExp(`^[ \\t]*(?:[^ \\t]+[ \\t]+){${n}}(.*)$`).exec(line);
  return (m?.[1] ?? '').trim();
}
