// SPDX-License-Identifier: MIT
// The official SDK paying against an f2fpay-sandbox that is already running, for the
// comparison in tests/integration/bench-integration.py. Prints one JSON line:
// { orders_per_s, cpu_ms_per_pay } for N pays, CONCURRENCY at a time, each checked paid.
// Usage: node bench-pay.js GATEWAY_URL N CONCURRENCY [FIRST_CODE]
'use strict';
process.env.TZ = 'Asia/Shanghai';
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
const h = require('./harness.js');

async function main() {
  const [url, nArg, cArg, firstArg] = process.argv.slice(2);
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
  const pay = (o) => sdk.exec('alipay.trade.pay', { bizContent: {
    out_trade_no: o, scene: 'bar_code', auth_code: `${prefix}${String(++codes).padStart(15, '0')}0`,
    subject: 'b', total_amount: '0.01' } }, { validateSign: true });
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
  console.log(JSON.stringify({ orders_per_s: n / secs, cpu_ms_per_pay: (cpu.user + cpu.system) / 1000 / n }));
}

main().catch((e) => { console.error(e); process.exit(1); });
