/**
 * `run -it` and `exec -it` in a real terminal: tmux runs the CLI in a pty, send-keys types, capture-pane
 * reads the screen. Covers the terminal size, exit codes and detaching with ctrl-p ctrl-q.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CLI, eventually, inspect, makeDataDir, type TestDataDir } from './cli-harness.js';

const SOCKET = `nubis-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function screen(session: string): string {
  return tmux('capture-pane', '-t', session, '-p');
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('interactive terminals', () => {
  let t: TestDataDir;
  before(() => {
    try {
      execFileSync('tmux', ['-V']);
    } catch (err) {
      throw new Error('tmux is needed for the terminal tests: apt-get install tmux', { cause: err });
    }
    t = makeDataDir();
  });
  after(async () => {
    try {
      tmux('kill-server');
    } catch {
      // no sessions left
    }
    await t.cleanup();
  });

  /** Starts `nubis <args>` in a fresh tmux session of the given size; the shell prints EXIT=<code> after. */
  function startInTmux(session: string, args: string[], cols = 90, rows = 25): void {
    const cmd = [...CLI, '--data-dir', t.dir, ...args].map(quote).join(' ');
    tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), `${cmd}; echo EXIT=$?; sleep 60`);
  }

  it('run -it gives the container a terminal of our size and returns its exit code', async () => {
    startInTmux('it1', ['ctr', 'run', '-it', '--rm', 'busybox', 'sh'], 91, 27);
    await eventually(() => screen('it1').includes('/ #'), 20_000, 'the shell prompt');
    tmux('send-keys', '-t', 'it1', 'echo sum=$((40+2)); stty size; tty', 'Enter');
    // All three answers (the screen is read while the shell may still be printing the last).
    await eventually(() => /sum=42/.test(screen('it1')) && /^\/dev\/pts\/\d+$/m.test(screen('it1')), 10_000, 'the echo, the size and the tty');
    const s = screen('it1');
    assert.match(s, /^27 91$/m, 'stty size inside = the tmux pane');
    assert.match(s, /^\/dev\/pts\/\d+$/m);
    tmux('send-keys', '-t', 'it1', 'exit 3', 'Enter');
    await eventually(() => screen('it1').includes('EXIT='), 10_000, 'the CLI to exit');
    assert.match(screen('it1'), /EXIT=3/);
    assert.equal((await t.ctr('ps', '-aq')).trim(), '', '--rm removed it');
  });

  it('ctrl-p ctrl-q detaches and leaves the container running; exec -it gets a terminal', async () => {
    startInTmux('it2', ['ctr', 'run', '-it', '--name', 'keep', 'busybox', 'sh']);
    await eventually(() => screen('it2').includes('/ #'), 20_000, 'the shell prompt');
    tmux('send-keys', '-t', 'it2', 'C-p', 'C-q');
    await eventually(() => screen('it2').includes('EXIT='), 10_000, 'the CLI to detach');
    assert.match(screen('it2'), /EXIT=0/);
    assert.equal((await inspect(t, 'keep')).State.Status, 'running');

    startInTmux('ex1', ['ctr', 'exec', '-it', 'keep', 'sh'], 80, 20);
    await eventually(() => screen('ex1').includes('#'), 20_000, 'the exec prompt');
    tmux('send-keys', '-t', 'ex1', 'stty size; exit 5', 'Enter');
    await eventually(() => screen('ex1').includes('EXIT='), 10_000, 'exec to exit');
    assert.match(screen('ex1'), /^20 80$/m);
    assert.match(screen('ex1'), /EXIT=5/);
    await t.ctr('rm', '-f', 'keep');
  });
});
