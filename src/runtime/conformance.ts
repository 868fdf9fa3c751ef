/**
 * The conformance suite every sandbox driver passes (as store/conformance.ts is for stores): the fake
 * driver in the unit tests, the OCI driver (test/integration/runtime/oci-conformance.test.ts) and the
 * micro-VM driver. It speaks only the contract (sandbox.ts, driver.ts); what a workload runs is given by
 * the driver's own `programs`, since a fake has no shell.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import type { LogEntry, RuntimeDriver, WorkloadSpec } from './driver.js';
import type { SandboxDriver } from './sandbox.js';

/** What a driver under test runs, in the form it understands. */
export interface ConformancePrograms {
  /** Writes `out` to stdout and `err` to stderr, then exits with `code`. */
  print(out: string, err: string, code: number): Pick<WorkloadSpec, 'entrypoint' | 'command'>;
  /** Runs until stopped; exits at once on SIGTERM. */
  sleep(): Pick<WorkloadSpec, 'entrypoint' | 'command'>;
  /** An exec command that writes `text` and a newline to stdout. */
  echo(text: string): string[];
  /** An exec command that exits with `code`. */
  exit(code: number): string[];
}

export interface ConformanceSetup {
  driver: SandboxDriver;
  /** An image the driver can run the programs from. */
  image: string;
  programs: ConformancePrograms;
  /** Removes what setup made (called after the suite). */
  cleanup?: () => Promise<void>;
}

/** Registers the suite (node:test) for one driver. */
export function sandboxDriverConformance(name: string, setup: () => Promise<ConformanceSetup>): void {
  describe(`sandbox driver conformance: ${name}`, () => {
    let s: ConformanceSetup;
    const sandboxes: string[] = [];
    const newSandbox = async () => {
      const id = randomUUID();
      sandboxes.push(id);
      await s.driver.createSandbox({ id, namespace: 'conformance', name: `pod-${sandboxes.length}` });
      return id;
    };
    const run = async (sandbox: string, program: Pick<WorkloadSpec, 'entrypoint' | 'command'>, extra: Partial<WorkloadSpec> = {}) => {
      const info = await s.driver.create({ image: s.image, sandbox, ...program, ...extra });
      await s.driver.start(info.id);
      return info.id;
    };

    before(async () => {
      s = await setup();
    });
    after(async () => {
      for (const w of await s.driver.list()) if (w.spec.sandbox && sandboxes.includes(w.spec.sandbox)) await s.driver.remove(w.id, { force: true });
      for (const id of sandboxes) await s.driver.removeSandbox(id);
      s.driver.close();
      await s.cleanup?.();
    });

    it('a sandbox is made, found, listed and removed (removal is safe to repeat)', async () => {
      const id = await newSandbox();
      const info = await s.driver.sandbox(id);
      assert.equal(info?.id, id);
      assert.equal(info?.driver, s.driver.name);
      assert.ok(info?.networkNamespace, 'a sandbox declares its network namespace');
      assert.ok((await s.driver.sandboxIds()).includes(id));
      await s.driver.removeSandbox(id);
      assert.equal(await s.driver.sandbox(id), undefined);
      assert.ok(!(await s.driver.sandboxIds()).includes(id));
      await s.driver.removeSandbox(id);
      assert.equal(await s.driver.sandbox(randomUUID()), undefined, 'an unknown sandbox is not found');
    });

    it('a workload in a sandbox runs, logs stdout and stderr apart, exits with its code and is watched to its exit', async () => {
      const sandbox = await newSandbox();
      const info = await s.driver.create({ image: s.image, sandbox, ...s.programs.print('to-out', 'to-err', 3) });
      assert.equal(info.state.status, 'created');
      assert.equal(info.spec.sandbox, sandbox);
      const exited = new Promise<void>((resolve) => s.driver.watchExit(info.id, resolve));
      await s.driver.start(info.id);
      assert.equal(await s.driver.wait(info.id), 3);
      await exited;
      const got = await s.driver.get(info.id);
      assert.equal(got.state.status, 'exited');
      assert.equal(got.state.exitCode, 3);
      assert.equal(await s.driver.hasExited?.(info.id), true);
      const lines: LogEntry[] = [];
      for await (const e of s.driver.logs(info.id)) lines.push(e);
      assert.deepEqual(lines.map((l) => [l.stream, l.text]).sort(), [['stderr', 'to-err'], ['stdout', 'to-out']]);
      assert.ok((await s.driver.list()).some((w) => w.id === info.id));
      assert.ok((await s.driver.imagesInUse()).includes(got.imageDigest), 'the image is in use while the workload exists');
      await s.driver.remove(info.id);
      await assert.rejects(s.driver.get(info.id), (err) => isNubisError(err, 'NotFound'));
    });

    it('exec runs in a running workload with its own output and exit code; stop ends it; stopping again is a Conflict', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, s.programs.sleep());
      assert.equal((await s.driver.get(id)).state.status, 'running');
      let out = '';
      const code = await s.driver.exec(id, {
        command: s.programs.echo('hello from exec'),
        stdio: ['ignore', 'pipe', 'ignore'],
        onStart: (p) => p.stdout?.on('data', (d: Buffer) => (out += d.toString())),
      });
      assert.equal(code, 0);
      assert.equal(out, 'hello from exec\n');
      assert.equal(await s.driver.exec(id, { command: s.programs.exit(7), stdio: ['ignore', 'ignore', 'ignore'] }), 7);
      const stats = await s.driver.stats(id);
      assert.ok(stats.memoryBytes >= 0 && stats.cpuUsageNs >= 0);
      await s.driver.stop(id, { timeoutSeconds: 5 });
      assert.equal((await s.driver.get(id)).state.status, 'exited');
      await assert.rejects(s.driver.stop(id), (err) => isNubisError(err, 'Conflict'));
      await s.driver.remove(id);
    });

    it('bad input is refused before anything is made: a missing sandbox, a bad sandbox id, an undeclared ability', async () => {
      const before = (await s.driver.list()).length;
      await assert.rejects(s.driver.create({ image: s.image, sandbox: randomUUID(), ...s.programs.sleep() }), (err) => isNubisError(err, 'NotFound'));
      await assert.rejects(s.driver.createSandbox({ id: '../escape', namespace: 'x', name: 'y' }), (err) => isNubisError(err, 'Invalid'));
      assert.equal((await s.driver.list()).length, before, 'nothing was left behind');
      await checkUndeclared(s.driver, await newSandbox(), s);
    });

    it('a removed sandbox takes nothing of other sandboxes with it', async () => {
      const [a, b] = [await newSandbox(), await newSandbox()];
      const inB = await run(b, s.programs.sleep());
      await s.driver.removeSandbox(a);
      assert.ok(await s.driver.sandbox(b));
      assert.equal((await s.driver.get(inB)).state.status, 'running');
      await s.driver.remove(inB, { force: true });
    });
  });
}

/** Every ability a driver does not declare fails with Unavailable. */
async function checkUndeclared(driver: RuntimeDriver, sandbox: string, s: ConformanceSetup): Promise<void> {
  const caps = driver.capabilities;
  if (caps.pause && caps.exec && caps.attach) return;
  const info = await driver.create({ image: s.image, sandbox, ...s.programs.sleep() });
  await driver.start(info.id);
  const unavailable = (err: unknown) => isNubisError(err, 'Unavailable');
  if (!caps.pause) await assert.rejects(driver.pause(info.id), unavailable);
  if (!caps.exec) await assert.rejects(driver.exec(info.id, { command: s.programs.exit(0) }), unavailable);
  await driver.remove(info.id, { force: true });
}
