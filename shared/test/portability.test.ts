/**
 * Every laptop in the room: what the workshop prints and asks people to type works the same on
 * Windows, macOS and Linux, and the runtime copes with what Windows does differently (paths,
 * file locks, reserved ports, no re-parenting, no SIGSTOP).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPortFree } from '../cli/devrel.js';
import { freezeMs, registerFaults } from '../cli/faults.js';
import { runAdmin } from '../cli/admin.js';
import { TestCluster } from '../harness/cluster.js';
import { replayCommand } from '../harness/seed.js';
import { waitFor } from '../harness/wait.js';
import { fresh, type Ring } from '../ring.js';
import { loadRingFile, RingManager } from '../ring_manager.js';
import { stubPath } from '../todo.js';
import { replayPlan } from '../../tools/workshop/replay.js';
import { recordingIo } from '../harness/tool_io.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('paths', () => {
  it('stub paths use / on every OS (win32 paths too)', () => {
    expect(stubPath('C:\\work\\ring\\', 'C:\\work\\ring\\exercises\\ex1-ping\\ping.ts', path.win32)).toBe(
      'exercises/ex1-ping/ping.ts',
    );
    expect(stubPath('/work/ring/', '/work/ring/exercises/ex1-ping/ping.ts', path.posix)).toBe(
      'exercises/ex1-ping/ping.ts',
    );
  });

  it('a printed seed says how to replay it with npm run replay, from any test path', () => {
    expect(replayCommand('C:\\work\\ring\\exercises\\ex3-coordinator\\ex3-coordinator.test.ts', 42)).toBe(
      'npm run replay -- ex3 42',
    );
    expect(replayCommand(join(ROOT, 'shared/test/nemesis.test.ts'), 7)).toBe(
      'npm run replay -- shared/test/nemesis.test.ts 7',
    );
  });

  it('npm run replay runs the suite the seed came from: the attendee code, the solutions, a runtime file', () => {
    expect(replayPlan(['ex3', '42'], ROOT)).toEqual({
      seed: 42,
      args: ['run', '--project', 'exercises', '--project', 'exercises-bonus', 'exercises/ex3-coordinator/'],
    });
    expect(replayPlan(['3', '42', '--solutions'], ROOT)).toEqual({
      seed: 42,
      args: ['run', '--project', 'solutions', 'exercises/ex3-coordinator/'],
    });
    expect(replayPlan(['shared\\test\\nemesis.test.ts', '9'], ROOT)).toEqual({
      seed: 9,
      args: ['run', '--project', 'runtime', 'shared/test/nemesis.test.ts'],
    });
    expect(() => replayPlan(['ex3'], ROOT)).toThrow(/and the seed the test printed/);
    expect(() => replayPlan(['ex3', '4294967296'], ROOT)).toThrow(/whole number from 0 to 4294967295/);
    expect(() => replayPlan(['ex3', '12x'], ROOT)).toThrow(/got "12x"/);
    expect(() => replayPlan(['shared/test/nope.test.ts', '1'], ROOT)).toThrow(/no test file/);
  });
});

describe('ports', () => {
  let busy: Server | undefined;
  afterEach(() => void busy?.close());

  it('a port in use is refused naming the port and the flag that moves it', async () => {
    const server = (busy = createServer());
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    await expect(checkPortFree('127.0.0.1', port, '--chat-base-port')).rejects.toThrow(
      new RegExp(`port ${port} on 127.0.0.1 is already in use.*--chat-base-port`),
    );
  });

  it('any other bind error (EACCES on a reserved port) names the port and the flag too', async () => {
    // An address this machine does not have fails with EADDRNOTAVAIL: not "in use", like EACCES.
    await expect(checkPortFree('192.0.2.1', 4040, '--chat-base-port')).rejects.toThrow(
      /cannot listen on 192\.0\.2\.1:4040 \(.*\); pick other ports with --chat-base-port/,
    );
  });
});

describe('the ring file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('a save that fails (a locked file) loses no ring event, and the ring is saved once it can be', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ring-file-'));
    const file = join(dir, 'ring.json');
    mkdirSync(join(file, 'in-the-way'), { recursive: true }); // the rename onto it fails, as EPERM would
    const first = fresh(8, 'a@h', 'h:1');
    const manager = new RingManager(first, file);
    const errors: number[] = [];
    const events: Ring[] = [];
    manager.on('save_error', (_err: Error, attempt: number) => errors.push(attempt));
    manager.on('ring', (ring: Ring) => events.push(ring));
    const second = { ...first, vclock: { 'a@h': 2 } };
    expect(() => manager.set(second)).not.toThrow();
    expect(events).toEqual([second]); // the change happened, whatever the disk said
    expect(manager.ring).toBe(second);
    await waitFor('a save to be retried', () => errors.length > 0);
    rmSync(join(file), { recursive: true, force: true }); // the lock goes away
    await waitFor('the ring file to hold the latest ring', () => loadRingFile(file)?.vclock['a@h'] === 2);
    manager.close();
    expect(readdirSync(dir).sort()).toEqual(['ring.json']);
  });
});

describe('crash and freeze, the same on every OS', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('a freeze lasts a whole number of ms, up to ten minutes', () => {
    expect(freezeMs(3000)).toBe(3000);
    expect(freezeMs('250')).toBe(250);
    for (const bad of [0, -1, 1.5, 600_001, 'x', null, undefined])
      expect(() => freezeMs(bad), String(bad)).toThrow(/a freeze lasts 1 to 600000 ms/);
  });

  it('npm run admin -- crash / freeze reach the named node through any member, which then exits or stops', async () => {
    const c = (cluster = await TestCluster.start({ size: 2 }));
    const [dev1, dev2] = c.nodes as [(typeof c.nodes)[number], (typeof c.nodes)[number]];
    const done: string[] = [];
    // The real actions end or block this whole process (every node of the cluster): record them.
    registerFaults(dev2, { exit: () => done.push('exit'), block: (ms) => done.push(`block ${ms}`) });
    const io = recordingIo();
    const admin = (...args: string[]) => runAdmin([...args, '--node', dev1.addr, '--cookie', 'test-cookie'], io);
    expect(await admin('freeze', dev2.name, '3000')).toBe(0);
    expect(await admin('crash', dev2.name)).toBe(0);
    await waitFor('both faults to happen', () => done.length === 2);
    expect(done).toEqual(['block 3000', 'exit']);
    expect(io.out()).toContain(`${dev2.name} is frozen for 3000 ms`);
    expect(io.out()).toContain(`${dev2.name} crashed`);
    // A node of another ring, a bad duration: refused before anything is sent.
    expect(await admin('crash', 'nobody@127.0.0.1')).toBe(1);
    expect(io.out()).toMatch(/nobody@127\.0\.0\.1 is not a member/);
    expect(await admin('freeze', dev2.name, 'soon')).toBe(2);
    expect(done).toHaveLength(2);
    // A member's RPC (not an admin client) may not crash another node.
    await expect(dev1.rpc.call(dev2.name, 'admin.crash', {}, 2000)).rejects.toThrow(/no such method/);
    expect(done).toHaveLength(2);
  });
});

describe('instructions any shell can run', () => {
  // Attendee-facing text: READMEs, slides, the hints. A Windows box (a line starting with
  // "Windows:" or a block after "**Windows**") may show a Windows-only form; nothing else may
  // need a POSIX shell.
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'exercises'))
      .filter((d) => /^ex\d+-/.test(d))
      .map((d) => `exercises/${d}/README.md`),
    ...readdirSync(join(ROOT, 'slides'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `slides/${f}`),
    'exercises/manifest.json',
  ];
  const POSIX_ONLY: readonly [RegExp, string][] = [
    [
      /(^|[\s`'"(])[A-Z][A-Z0-9_]*=\S*\s+(npm|npx|node|tsx)\b/,
      'an environment variable before a command (VAR=value cmd)',
    ],
    [/\bkill\s+-/, 'kill with a signal (use npm run admin -- crash / freeze)'],
    [/(^|[\s`'"(])nc\s+\S/, 'nc (use npm run chat)'],
    [/\b(npm|npx|node|git|cd)\s[^`]*\s&&\s/, '&& between commands (PowerShell 5.1 has none; one command per line)'],
    [/\/dev\/urandom|\bhead -c\b/, 'Unix-only tools'],
  ];

  it('README, exercise READMEs, slides and hints need no POSIX shell', () => {
    const found: string[] = [];
    let lines = 0;
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      let windowsBox = false;
      for (const [i, line] of text.split('\n').entries()) {
        lines++;
        if (/\*\*Windows\*\*/.test(line)) windowsBox = true;
        else if (line.trim() === '') windowsBox = false;
        if (windowsBox || /^\s*(>\s*)?Windows:/.test(line)) continue;
        for (const [re, what] of POSIX_ONLY) if (re.test(line)) found.push(`${file}:${i + 1}: ${what}: ${line.trim()}`);
      }
    }
    expect(files.length).toBeGreaterThan(10);
    expect(lines).toBeGreaterThan(1000);
    expect(found).toEqual([]);
  });

  it('the scan finds what it looks for', () => {
    const samples = [
      'CI=true npm test -- ex1',
      'run `SEED=12 npm test`',
      'kill -9 1234',
      'nc 127.0.0.1 4040',
      'npm ci && npm start',
    ];
    for (const s of samples)
      expect(
        POSIX_ONLY.some(([re]) => re.test(s)),
        s,
      ).toBe(true);
    for (const s of [
      'npm test -- ex1 --run',
      'npm run chat -- --port 4040',
      'since 2016, nc-like',
      '`a.ok() && b.ok()`',
    ])
      expect(
        POSIX_ONLY.some(([re]) => re.test(s)),
        s,
      ).toBe(false);
  });
});
