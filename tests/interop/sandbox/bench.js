// SPDX-License-Identifier: MIT
// Prints figures (no assertions): official-SDK round trips per second against f2fpay-sandbox,
// sequential and 16 in parallel. Usage: node bench.js SANDBOX_BINARY [N]
'use strict';
process.env.TZ = 'Asia/Shanghai';
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
const h = require('./harness.js');

async function main() {
  const [bin, nArg] = process.argv.slice(2);
  const n = Number(nArg || 400);
  const sb = await h.startSandbox(bin, h.keyArgs('http'));
  const sdk = new AlipaySdk({
    appId: '2021000000000001',
    privateKey: h.read(path.join(h.keys, 'app-private.pem')),
    keyType: 'PKCS8',
    alipayPublicKey: h.read(path.join(h.keys, 'alipay-public.pem')),
    gateway: `${sb.url}/gateway.do`,
  });
  const pay = (o) => sdk.exec('alipay.trade.pay', { bizContent: {
    out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('0'), subject: 'b', total_amount: '0.01' } },
  { validateSign: true });
  const lat = [];
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const r = await pay(`bs_${process.pid}_${i}`);
    if (r.code !== '10000') throw new Error(r.code);
    lat.push(performance.now() - s);
  }
  const seq = n / ((performance.now() - t0) / 1000);
  lat.sort((a, b) => a - b);
  t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      const i = next++;
      const r = await pay(`bp_${process.pid}_${i}`);
      if (r.code !== '10000') throw new Error(r.code);
    }
  }));
  const par = n / ((performance.now() - t0) / 1000);
  console.log(`sequential: ${seq.toFixed(0)} pay/s, latency p50 ${lat[n >> 1].toFixed(2)} ms, p99 ${lat[Math.floor(n * 0.99)].toFixed(2)} ms`);
  console.log(`16 in parallel: ${par.toFixed(0)} pay/s`);
  await sb.stop();
}

main().catch((e) => { console.error(e); process.exit(1); });
