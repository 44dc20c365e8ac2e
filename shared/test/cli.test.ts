/**
 * The command-line tools: option parsing (fast, in-process) and `npm run admin` against an
 * in-process cluster: in-process (its exported function, output into buffers), and once as a
 * real child process, to see that its entry point wires argv, streams and the exit code.
 * `npm start` itself is tried by hand.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdminArgs, runAdmin } from '../cli/admin.js';
import { parseConsoleArgs } from '../cli/node_console.js';
import { checkPortFree, parseDevrelArgs } from '../cli/devrel.js';
import { parseAddr, parseCommandLine, parseNodeName, parsePort, parseRingSize, UsageError } from '../cli/options.js';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';
import { recordingIo } from '../harness/tool_io.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('option helpers', () => {
  it('reject a bad port with a message naming the flag and the value', () => {
    expect(() => parsePort('99999', '--port')).toThrow(UsageError);
    expect(() => parsePort('99999', '--port')).toThrow('--port must be an integer between 0 and 65535, got "99999"');
    expect(() => parsePort('80x')).toThrow(UsageError);
    expect(() => parsePort('0', '--base-port', false)).toThrow('between 1 and 65535');
    expect(parsePort('8101')).toBe(8101);
    expect(parsePort('0')).toBe(0);
  });

  it('append @127.0.0.1 to a node name without a host', () => {
    expect(parseNodeName('dev1')).toBe('dev1@127.0.0.1');
    expect(parseNodeName('dev1@10.0.0.2')).toBe('dev1@10.0.0.2');
    expect(() => parseNodeName('')).toThrow(UsageError);
    expect(() => parseNodeName('a@b@c')).toThrow(UsageError);
    expect(() => parseNodeName('@host')).toThrow(UsageError);
  });

  it('parse addresses and ring sizes', () => {
    expect(parseAddr('127.0.0.1:8101')).toBe('127.0.0.1:8101');
    expect(parseAddr('8102')).toBe('127.0.0.1:8102');
    expect(parseAddr('[::1]:8101')).toBe('[::1]:8101');
    expect(() => parseAddr('localhost')).toThrow('--node must be HOST:PORT');
    expect(() => parseAddr('host:0')).toThrow(UsageError);
    expect(parseRingSize('128')).toBe(128);
    expect(() => parseRingSize('100')).toThrow('--ring-size must be a power of two between 8 and 1024, got "100"');
  });

  it('turn parseArgs errors into one-line usage errors', () => {
    const options = { port: { type: 'string' as const } };
    expect(() => parseCommandLine({ args: ['--nope'], options })).toThrow(new UsageError('unknown option --nope'));
    expect(() => parseCommandLine({ args: ['--port'], options })).toThrow(
      new UsageError('option --port needs a value'),
    );
    expect(() => parseCommandLine({ args: ['--port', '--x'], options })).toThrow(
      new UsageError('option --port needs a value'),
    );
    expect(() => parseCommandLine({ args: ['stray'], options })).toThrow(new UsageError('unexpected argument stray'));
  });
});

describe('tool arguments', () => {
  it('console: --name is required and normalised; defaults', () => {
    expect(() => parseConsoleArgs([])).toThrow('--name is required');
    expect(parseConsoleArgs(['--help'])).toBe('help');
    const opts = parseConsoleArgs(['--name', 'dev2', '--port', '8102', '--no-repl', '--join', '127.0.0.1:8101']);
    expect(opts).toMatchObject({
      name: 'dev2@127.0.0.1',
      port: 8102,
      host: '127.0.0.1',
      cookie: 'workshop',
      ringSize: 64,
      repl: false,
      join: '127.0.0.1:8101',
      tree: 'solutions',
    });
    expect(parseConsoleArgs(['--name', 'x', '--exercises'])).toMatchObject({ tree: 'exercises', repl: true, port: 0 });
    expect(() => parseConsoleArgs(['--name', 'x', '--port', 'http'])).toThrow(UsageError);
    expect(parseConsoleArgs(['--name', 'x'])).toMatchObject({ nemesis: false, handoffBatchItems: undefined });
    expect(parseConsoleArgs(['--name', 'x', '--nemesis', '--handoff-batch-items', '10'])).toMatchObject({
      nemesis: true,
      handoffBatchItems: 10,
    });
    expect(() => parseConsoleArgs(['--name', 'x', '--handoff-batch-items', '0'])).toThrow(
      '--handoff-batch-items must be an integer between 1 and 100000',
    );
  });

  it('devrel: defaults, node count and port range checks', () => {
    const opts = parseDevrelArgs([]);
    expect(opts).toMatchObject({
      nodes: 3,
      basePort: 8101,
      host: '127.0.0.1',
      cookie: 'workshop',
      ringSize: 64,
      tree: 'solutions',
    });
    expect(opts !== 'help' && opts.dataDir).toBe(fileURLToPath(new URL('../../data', import.meta.url)));
    expect(() => parseDevrelArgs(['--nodes', '10'])).toThrow('--nodes must be an integer between 1 and 9');
    expect(() => parseDevrelArgs(['--base-port', '65534'])).toThrow('leaves no room for 3 nodes');
    expect(() => parseDevrelArgs(['--bogus'])).toThrow('unknown option --bogus');
  });

  it('admin: commands, argument counts, defaults', () => {
    expect(parseAdminArgs(['member-status'])).toEqual({
      command: 'member-status',
      args: [],
      node: '127.0.0.1:8101',
      cookie: 'workshop',
      json: false,
    });
    expect(parseAdminArgs(['leave', 'dev2', '--node', '8102', '--json'])).toMatchObject({
      command: 'leave',
      args: ['dev2'],
      node: '127.0.0.1:8102',
      json: true,
    });
    expect(() => parseAdminArgs([])).toThrow('missing command');
    expect(() => parseAdminArgs(['frobnicate'])).toThrow('unknown command "frobnicate"');
    expect(() => parseAdminArgs(['join'])).toThrow('join takes <addr>, got none');
    expect(() => parseAdminArgs(['plan', 'extra'])).toThrow('plan takes no arguments');
    expect(() => parseAdminArgs(['join', 'nowhere'])).toThrow('addr must be HOST:PORT');
  });

  it('devrel: a port in use is reported with a way out', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(checkPortFree('127.0.0.1', port)).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
      await expect(checkPortFree('127.0.0.1', port)).rejects.toThrow('--base-port');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(checkPortFree('127.0.0.1', port)).resolves.toBeUndefined();
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `npm run admin -- ...args` in-process, without colour: what it would print and exit with. */
async function admin(...args: string[]): Promise<Run> {
  const io = recordingIo({ ...process.env, FORCE_COLOR: '0' });
  const code = await runAdmin(args, io);
  return { code, stdout: io.printed.stdout, stderr: io.printed.stderr };
}

/** Run `npm run admin -- ...args` as a child process (node + tsx, about 1 s of CPU); killed after 20 s. */
function adminProcess(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'shared/cli/admin.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run admin against a running cluster', () => {
  let cluster: TestCluster;
  let addr: string;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 2 });
    addr = cluster.node(0).addr;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('member-status shows both members valid', async () => {
    const run = await admin('member-status', '--node', addr, '--cookie', 'test-cookie');
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const valid = run.stdout.split('\n').filter((l) => /^valid\s/.test(l));
    expect(valid).toHaveLength(2);
    expect(run.stdout).toContain("'dev1@127.0.0.1'");
    expect(run.stdout).toContain("'dev2@127.0.0.1'");
  });

  it('as a process: the entry point wires argv, stdout and the exit code', async () => {
    const run = await adminProcess('member-status', '--node', addr, '--cookie', 'test-cookie');
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const valid = run.stdout.split('\n').filter((l) => /^valid\s/.test(l));
    expect(valid).toHaveLength(2);
    expect(run.stdout).toContain("'dev1@127.0.0.1'");
    expect(run.stdout).toContain("'dev2@127.0.0.1'");
  });

  it('a wrong cookie is refused with an error line and a non-zero exit', async () => {
    const run = await admin('member-status', '--node', addr, '--cookie', 'not-the-cookie');
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(`^error: cannot reach a node at ${addr.replace(/\./g, '\\.')}: .*cookie`, 'm'),
    );
  });
});

describe('npm run admin says why a command is refused and what to run next', () => {
  let cluster: TestCluster;
  const [dev1, dev2] = ['dev1@127.0.0.1', 'dev2@127.0.0.1'];

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('claimant dead: remove is refused with the down command to run; down, remove, commit through dev2 then succeed', async () => {
    const via = cluster.node(dev2).addr;
    const opts = ['--node', via, '--cookie', 'test-cookie'];
    // Refusals of a live cluster first: nothing staged, and down of a reachable node.
    const nothing = await admin('commit', ...opts);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('error: there are no staged changes to commit');
    expect(nothing.stderr).toContain(
      `next: stage a change first (join, leave or remove), look at it with npm run admin -- plan --node ${via}`,
    );
    const up = await admin('down', 'dev3', ...opts);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('next: dev3@127.0.0.1 is reachable, so it is not down');

    await cluster.kill(dev1);
    await waitFor('dev2 to see dev1 down', () => !cluster.node(dev2).watcher.isUp(dev1));
    const refused = await admin('remove', 'dev1', ...opts);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: the claimant ${dev1} is unreachable`);
    expect(refused.stderr).toContain(
      `next: if ${dev1} is gone, mark it down (any live member takes over as claimant): npm run admin -- down ${dev1} --node ${via} --cookie test-cookie; then run remove again`,
    );

    for (const args of [
      ['down', 'dev1'],
      ['remove', 'dev1'],
    ]) {
      const run = await admin(...args, ...opts);
      expect(run.stderr, args.join(' ')).toBe('');
      expect(run.code).toBe(0);
    }
    await waitFor('a commit through dev2 to be accepted', async () => (await admin('commit', ...opts)).code === 0, {
      timeoutMs: 20_000,
    });
    await cluster.waitSettled({ expectMembers: [dev2, 'dev3@127.0.0.1'] });
    const status = await admin('member-status', ...opts);
    expect(status.stdout.split('\n').filter((l) => /^valid\s+50\.0%/.test(l))).toHaveLength(2);
  });
});
