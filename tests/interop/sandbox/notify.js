// SPDX-License-Identifier: MIT
// Notifications from f2fpay-sandbox verified by the official Node SDK (checkNotifySignV2), the
// retry schedule seen by a receiver that answers `fail`, QR expiry and the --state file.
// Usage: node notify.js SANDBOX_BINARY STATE_DIR
'use strict';
process.env.TZ = 'Asia/Shanghai';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
const h = require('./harness.js');
const { assert } = h;

const [bin, stateDir] = process.argv.slice(2);
const SCALE = 20000;
// doc/protocol.md §4: 4m, 10m, 10m, 1h, 2h, 6h, 15h.
const INTERVALS_SEC = [240, 600, 600, 3600, 7200, 21600, 54000];
let seq = 0;
const otn = (tag) => `${tag}_${process.pid}_${Date.now()}_${++seq}`;

const sdkFor = (url) => new AlipaySdk({
  appId: '2021000000000001',
  privateKey: h.read(path.join(h.keys, 'app-private.pem')),
  keyType: 'PKCS8',
  alipayPublicKey: h.read(path.join(h.keys, 'alipay-public.pem')),
  gateway: `${url}/gateway.do`,
});

// A receiver recording every delivery: { at (ms), headers, fields, raw }.
function startReceiver(answer) {
  const got = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      // doc/protocol.md §4: decode the form exactly once.
      const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      got.push({ at: performance.now(), headers: req.headers, fields, raw, path: req.url });
      res.end(typeof answer === 'function' ? answer(fields) : answer);
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}`, got, close: () => srv.close() })));
}

async function waitFor(fn, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await h.sleep(20);
  }
  throw new Error('timed out waiting');
}

async function main() {
  const ok = await startReceiver('success');
  const failing = await startReceiver('fail');
  const sb = await h.startSandbox(bin, [...h.keyArgs('http'), '--time-scale', String(SCALE),
    '--confirm-after', '0.1']);
  const sdk = sdkFor(sb.url);
  const exec = (m, notify, biz) => sdk.exec(m, { notify_url: notify, bizContent: biz }, { validateSign: true });
  const ledger = async (o) => (await (await fetch(`${sb.url}/sim/trades`)).json()).trades.find((t) => t.out_trade_no === o);
  const of = (r, o) => r.got.filter((g) => g.fields.out_trade_no === o);

  const cases = [
    ['paid trade notifies TRADE_SUCCESS, verified by checkNotifySignV2', async () => {
      const o = otn('n0');
      const r = await exec('alipay.trade.pay', `${ok.url}/notify`, {
        out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('0'), subject: '中文 & 符号=+%',
        total_amount: '9.99' });
      assert.equal(r.code, '10000');
      const [n] = await waitFor(() => of(ok, o).length && of(ok, o));
      assert.equal(n.headers['content-type'], 'application/x-www-form-urlencoded; text/html; charset=utf-8');
      assert.equal(n.fields.trade_status, 'TRADE_SUCCESS');
      assert.equal(n.fields.notify_type, 'trade_status_sync');
      assert.equal(n.fields.total_amount, '9.99');
      assert.equal(n.fields.subject, '中文 & 符号=+%');
      assert.equal(n.fields.app_id, '2021000000000001');
      assert.equal(n.fields.trade_no, r.tradeNo);
      assert.ok(sdk.checkNotifySignV2(n.fields), 'notification signature');
      const tampered = { ...n.fields, total_amount: '0.01' };
      assert.ok(!sdk.checkNotifySignV2(tampered), 'a tampered notification must not verify');
      const t = await waitFor(async () => { const x = await ledger(o); return x.notifications[0].delivered && x; });
      assert.equal(t.notifications[0].attempts, 1);
    }],
    ['10003 then confirm: TRADE_SUCCESS only (WAIT_BUYER_PAY is opt-in)', async () => {
      const o = otn('n1');
      await exec('alipay.trade.pay', `${ok.url}/n`, {
        out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('1'), subject: 'x', total_amount: '1.00' });
      const got = await waitFor(() => of(ok, o).length >= 1 && of(ok, o));
      assert.ok(sdk.checkNotifySignV2(got[0].fields));
      assert.equal(got[0].fields.trade_status, 'TRADE_SUCCESS');
      await h.sleep(200);
      assert.equal(of(ok, o).length, 1);
    }],
    ['refund and cancel notify with refund_fee and out_biz_no', async () => {
      const o = otn('nr');
      await exec('alipay.trade.pay', `${ok.url}/n`, {
        out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('0'), subject: 'x', total_amount: '3.00' });
      await exec('alipay.trade.refund', `${ok.url}/n`, { out_trade_no: o, refund_amount: '1.00', out_request_no: 'rq1' });
      await exec('alipay.trade.cancel', `${ok.url}/n`, { out_trade_no: o });
      const got = await waitFor(() => of(ok, o).length >= 3 && of(ok, o));
      const refund = got.find((g) => g.fields.out_biz_no === 'rq1');
      assert.equal(refund.fields.refund_fee, '1.00');
      assert.equal(refund.fields.trade_status, 'TRADE_SUCCESS');
      const closed = got.find((g) => g.fields.trade_status === 'TRADE_CLOSED');
      assert.equal(closed.fields.refund_fee, '3.00');
      for (const g of got) assert.ok(sdk.checkNotifySignV2(g.fields));
    }],
    ['scanned and paid QR notifies TRADE_SUCCESS', async () => {
      const o = otn('nq');
      const r = await exec('alipay.trade.precreate', `${ok.url}/n`, { out_trade_no: o, subject: 'q', total_amount: '2.00' });
      const s = await fetch(`${sb.url}/sim/scan-qr`, { method: 'POST', body: JSON.stringify({ qr_code: r.qrCode, pay: true }) });
      assert.equal(s.status, 200);
      const got = await waitFor(() => of(ok, o).length >= 1 && of(ok, o));
      assert.equal(got[0].fields.trade_status, 'TRADE_SUCCESS');
      assert.ok(sdk.checkNotifySignV2(got[0].fields));
    }],
    ['--notify-wait-buyer-pay: a scanned QR notifies WAIT_BUYER_PAY, then TRADE_SUCCESS', async () => {
      const sb2 = await h.startSandbox(bin, [...h.keyArgs('http'), '--notify-wait-buyer-pay']);
      try {
        const sdk2 = sdkFor(sb2.url);
        const o = otn('nw');
        const r = await sdk2.exec('alipay.trade.precreate', { notify_url: `${ok.url}/n`, bizContent: {
          out_trade_no: o, subject: 'q', total_amount: '2.00' } }, { validateSign: true });
        const scan = (pay) => fetch(`${sb2.url}/sim/scan-qr`, { method: 'POST', body: JSON.stringify({ qr_code: r.qrCode, pay }) });
        assert.equal((await scan(false)).status, 200);
        const first = await waitFor(() => of(ok, o).length >= 1 && of(ok, o));
        assert.equal(first[0].fields.trade_status, 'WAIT_BUYER_PAY');
        assert.equal((await scan(true)).status, 200);
        const got = await waitFor(() => of(ok, o).length >= 2 && of(ok, o));
        assert.equal(got[1].fields.trade_status, 'TRADE_SUCCESS');
        for (const g of got) assert.ok(sdk2.checkNotifySignV2(g.fields));
      } finally {
        assert.equal((await sb2.stop()).code, 0);
      }
    }],
    ['receiver answering fail: 8 deliveries on the scaled 4m/10m/10m/1h/2h/6h/15h schedule', async () => {
      const o = otn('nf');
      await exec('alipay.trade.pay', `${failing.url}/n`, {
        out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('0'), subject: 'x', total_amount: '1.00' });
      const got = await waitFor(() => of(failing, o).length >= 8 && of(failing, o), 60000);
      // Gaps are at least the scaled interval (lower bounds only: the machine is shared).
      for (let i = 1; i < 8; i++) {
        const gap = got[i].at - got[i - 1].at;
        assert.ok(gap >= (INTERVALS_SEC[i - 1] * 1000) / SCALE * 0.9,
          `gap ${i}: ${gap.toFixed(1)} ms < ${INTERVALS_SEC[i - 1] * 1000 / SCALE} ms`);
      }
      for (const g of got) assert.ok(sdk.checkNotifySignV2(g.fields));
      console.log(`# retry gaps (ms): ${got.slice(1).map((g, i) => (g.at - got[i].at).toFixed(0)).join(' ')}`);
      // No ninth delivery: wait longer than the last scaled interval (2.7 s).
      await h.sleep(3500);
      assert.equal(of(failing, o).length, 8);
      const t = await ledger(o);
      assert.equal(t.notifications[0].attempts, 8);
      assert.equal(t.notifications[0].delivered, false);
      assert.equal(t.notifications[0].last_reply, 'fail');
    }],
    ['notify_url outside loopback is never contacted', async () => {
      const o = otn('nx');
      await exec('alipay.trade.pay', 'http://192.0.2.1/n', {
        out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('0'), subject: 'x', total_amount: '1.00' });
      const t = await ledger(o);
      assert.equal(t.notifications.length, 0);
    }],
    ['an unscanned QR expires (qr_code_timeout_express, scaled)', async () => {
      const o = otn('qexp');
      const r = await exec('alipay.trade.precreate', '', { out_trade_no: o, subject: 'q', total_amount: '2.00',
        qr_code_timeout_express: '1m' });
      await h.sleep(100); // 60 s / 20000 = 3 ms
      const s = await fetch(`${sb.url}/sim/scan-qr`, { method: 'POST', body: JSON.stringify({ qr_code: r.qrCode, pay: true }) });
      assert.equal(s.status, 410);
    }],
  ];
  let failed = await h.runCases('notify', cases);
  const st = await sb.stop();
  assert.equal(st.code, 0);

  // --state: a crash (SIGKILL) loses nothing the sandbox answered.
  const stateFile = path.join(stateDir, `sandbox-state-${process.pid}.json`);
  fs.rmSync(stateFile, { force: true });
  failed += await h.runCases('state', [['ledger survives a SIGKILL restart', async () => {
    const a = await h.startSandbox(bin, [...h.keyArgs('http'), '--state', stateFile]);
    const o = otn('st');
    const r = await sdkFor(a.url).exec('alipay.trade.pay', { bizContent: {
      out_trade_no: o, scene: 'bar_code', auth_code: h.paycode('0'), subject: 'x', total_amount: '4.00' } },
    { validateSign: true });
    assert.equal(r.code, '10000');
    await a.kill();
    const b = await h.startSandbox(bin, [...h.keyArgs('http'), '--state', stateFile]);
    try {
      const q = await sdkFor(b.url).exec('alipay.trade.query', { bizContent: { out_trade_no: o } }, { validateSign: true });
      assert.equal(q.tradeStatus, 'TRADE_SUCCESS');
      assert.equal(q.tradeNo, r.tradeNo);
      const p = await sdkFor(b.url).exec('alipay.trade.pay', { bizContent: {
        out_trade_no: otn('st2'), scene: 'bar_code', auth_code: h.paycode('0'), subject: 'x', total_amount: '4.00' } },
      { validateSign: true });
      assert.notEqual(p.tradeNo, r.tradeNo);
    } finally {
      await b.stop();
      fs.rmSync(stateFile, { force: true });
    }
  }]]);
  ok.close();
  failing.close();
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
