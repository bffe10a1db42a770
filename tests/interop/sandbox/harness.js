// SPDX-License-Identifier: MIT
// Test harness for the sandbox interop tests: starts f2fpay-sandbox, counts cases.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');

const srcdir = path.resolve(__dirname, '..', '..', 'sandbox');
const keys = path.join(srcdir, 'keys');
const certs = path.join(srcdir, 'certs');
const read = (p) => fs.readFileSync(p, 'ascii');

// Starts the sandbox; resolves { url, proc, stop() } once it printed its address.
function startSandbox(bin, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    // A test that dies must not leave the sandbox holding the test runner's pipes.
    process.on('exit', () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
    let out = '';
    proc.on('error', reject);
    proc.on('exit', (code, sig) => reject(new Error(`sandbox exited early: ${code} ${sig}`)));
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/^listening on (\S+)\n/);
      if (m) {
        proc.removeAllListeners('exit');
        resolve({
          url: m[1],
          proc,
          stop: () => new Promise((res) => {
            if (proc.exitCode !== null || proc.signalCode !== null)
              return res({ code: proc.exitCode, signal: proc.signalCode });
            proc.on('exit', (code, signal) => res({ code, signal }));
            proc.kill('SIGTERM');
          }),
          kill: () => new Promise((res) => {
            proc.on('exit', () => res());
            proc.kill('SIGKILL');
          }),
        });
      }
    });
  });
}

function keyArgs(mode) {
  if (mode === 'cert')
    return ['--app-cert', path.join(certs, 'app-cert.pem'),
      '--alipay-cert', path.join(certs, 'alipay-cert.pem'),
      '--root-cert', path.join(certs, 'root.pem'),
      '--alipay-private-key', path.join(keys, 'alipay-private.pem')];
  return ['--app-public-key', path.join(keys, 'app-public.pem'),
    '--alipay-private-key', path.join(keys, 'alipay-private.pem')];
}

function tlsArgs(mode) {
  if (mode === 'https')
    return ['--tls-cert', path.join(certs, 'tls-server.pem'),
      '--tls-key', path.join(certs, 'tls-server.key')];
  return [];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs named async cases in order; a failure is reported and counted, the run goes on.
async function runCases(title, cases) {
  let passed = 0, failed = 0;
  for (const [name, fn] of cases) {
    try {
      await fn();
      passed++;
      console.log(`ok - ${title}: ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${title}: ${name}\n  ${(e && e.stack) || e}`);
    }
  }
  console.log(`${title}: ${passed} passed, ${failed} failed, ${cases.length} cases`);
  return failed;
}

// The sandbox takes each payment code once (doc/sandbox.md): a fresh 18-digit code starting 28,
// the scenario digit last.
let codes = 0;
const paycode = (digit) => `28${String(++codes).padStart(15, '0')}${digit}`;

module.exports = { startSandbox, keyArgs, tlsArgs, keys, certs, read, sleep, runCases, assert, paycode };
