// SPDX-License-Identifier: MIT
// The official SDK paying against an f2fpay-sandbox that is already running, for the
// comparison in tests/integration/bench-integration.py. Prints one JSON line:
// { orders_per_s, cpu_ms_per_pay, notified } for N pays, CONCURRENCY at a time, each checked
// paid. With --notify, each pay gives a notify_url and Alipay's notifications are received here
// as an integration of the SDK receives them: the signature checked with checkNotifySignV2, the
// trade checked against the pays made, "success" answered. Time and CPU are counted until the
// last pay is paid, as the daemon's are; the process then waits for every notification.
// Usage: node bench-pay.js GATEWAY_URL N CONCURRENCY [FIRST_CODE] [--notify]
'use strict';
process.env.TZ = 'Asia/Shanghai';
const http = require('node:http');
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
const h = require('./harness.js');

async function main() {
  const args = process.argv.slice(2).filter((a) => a !== '--notify');
  const withNotify = process.argv.includes('--notify');
  const [url, nArg, cArg, firstArg] = args;
  const n = Number(nArg);
  const conc = Number(cArg);
  if (!url || !(n > 0) || !(conc > 0)) throw new Error('usage: bench-pay.js GATEWAY_URL N CONCURRENCY');
  const sdk = new AlipaySdk({
    appId: '2021000000000001',
    privateKey: h.read(path.join(h.keys, 'app-private.pem')),
    keyType: 'PKCS8',
    alipayPublicKey: h.read(path.join(h.keys, 'alipay-public.pem')),
    gateway: url,
  });
  // The sandbox takes each payment code once: a fresh one per pay (25…/26…/27… behave as
  // paid at once), apart from the daemon's 28… codes on the same sandbox; FIRST_CODE keeps the
  // runs of one benchmark apart.
  let codes = Number(firstArg || 0);
  const prefix = { 1: '25', 8: '26' }[conc] || '27';
  const paid = new Map(); // out_trade_no → total_amount, of the pays made
  let notified = 0;
  let refused = 0;
  const receiver = withNotify ? await listen(sdk, paid, (ok) => (ok ? notified++ : refused++)) : null;
  const pay = (o) => {
    paid.set(o, '0.01');
    return sdk.exec('alipay.trade.pay', { ...(receiver ? { notify_url: receiver.url } : {}), bizContent: {
      out_trade_no: o, scene: 'bar_code', auth_code: `${prefix}${String(++codes).padStart(15, '0')}0`,
      subject: 'b', total_amount: '0.01' } }, { validateSign: true });
  };
  // Warm-up: the first pays load modules and keys.
  for (let i = 0; i < 5; i++) await pay(`bw_${process.pid}_${conc}_${i}`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const i = next++;
      const r = await pay(`bn_${process.pid}_${conc}_${i}`);
      if (r.code !== '10000') throw new Error(`pay ${i}: ${r.code}`);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (receiver) {
    // Every pay's notification, warm-up's included, before the next run takes the sandbox.
    const end = Date.now() + 120000;
    while (notified + refused < paid.size && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    receiver.close();
    if (notified !== paid.size) throw new Error(`notifications: ${notified} of ${paid.size} verified, ${refused} refused`);
  }
  console.log(JSON.stringify({ orders_per_s: n / secs, cpu_ms_per_pay: (cpu.user + cpu.system) / 1000 / n, notified }));
}

// The notify_url's receiver: done(true) for a notification that verifies and is one of the
// pays made, for its amount; anything else is answered "fail".
function listen(sdk, paid, done) {
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const f = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const ok = sdk.checkNotifySignV2(f) && f.app_id === sdk.config.appId &&
        paid.get(f.out_trade_no) === f.total_amount && f.trade_status === 'TRADE_SUCCESS';
      done(ok);
      res.end(ok ? 'success' : 'fail');
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}/notify`, close: () => srv.close() })));
}

main().catch((e) => { console.error(e); process.exit(1); });
