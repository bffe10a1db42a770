// SPDX-License-Identifier: MIT
// Interop of the C payment core with the official Alipay Node SDK (alipay-sdk 4.x), both ways.
// Usage: node test-interop.js TOOL KEYDIR. Any mismatch throws (exit status 1).
'use strict';
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// A missing SDK must fail the test, never skip it.
const { AlipaySdk } = require('alipay-sdk');
const sdkDir = path.dirname(require.resolve('alipay-sdk'));
const util = require(path.join(sdkDir, 'util.js'));
const certutil = require(path.join(sdkDir, 'antcertutil.js'));

const [tool, keyDir] = process.argv.slice(2);
assert.ok(tool && keyDir, 'usage: test-interop.js TOOL KEYDIR');
const key = name => fs.readFileSync(path.join(keyDir, name), 'utf8');
const run = (args, input) => execFileSync(tool, args, { input: input ?? '', encoding: 'utf8' });

const appPrivatePem = key('app-private-pkcs8.pem');
const alipayPrivatePem = key('alipay-private.pem');
const alipayPublicPem = key('alipay-public.pem');
let checks = 0;

// (a) requests: string to sign, signature and URL equal the SDK's byte for byte.
const NOW = 1795671685; // 2026-11-26 13:41:25 in Beijing
const subjects = [
  'Coffee', '中文商品', 'a/b/c', 'with  spaces ', 'a&b=c', '1+1', '100%', '😀 emoji',
  'mix 中文/&=+% 😀 "quote" \\ back', 'tab\there', 'ctl \b\f\r\n\u001f\u007f \u2028 <>\'',
];
const certCases = [['RSA2', 'Coffee 中文/&=+% 😀', true], ['RSA', 'a b', true]];
const cases = [];
for (const signType of ['RSA2', 'RSA']) {
  for (const subject of subjects) cases.push([signType, subject, false]);
}
for (const [signType, subject, cert] of cases.concat(certCases)) {
  {
    const biz = {
      out_trade_no: 'T01_20261126_7', scene: 'bar_code', auth_code: '283456789012345670',
      subject, total_amount: '88.88',
    };
    const c = JSON.parse(run(['sign-request', keyDir, signType, String(NOW), JSON.stringify(biz)]
      .concat(cert ? ['cert'] : [])));
    const config = {
      appId: '2021000000000001', charset: 'utf-8', version: '1.0', signType,
      privateKey: appPrivatePem,
    };
    if (cert) {
      config.appCertSn = certutil.getSNFromPath(path.join(keyDir, 'app-cert.crt'), false);
      config.alipayRootCertSn = certutil.getSNFromPath(path.join(keyDir, 'root-bundle.crt'), true);
      assert.ok(c.url.includes('&app_cert_sn=' + config.appCertSn + '&alipay_root_cert_sn='));
    }
    const signed = util.sign('alipay.trade.pay', { bizContent: biz, timestamp: '2026-11-26 13:41:25' },
      config);
    // The SDK's string to sign, rebuilt the way util.sign() builds it.
    const sdkSignString = Object.keys(signed).filter(k => k !== 'sign').sort()
      .map(k => `${k}=${signed[k]}`).join('&');
    assert.equal(c.sign_string, sdkSignString, `string to sign (${signType}, ${subject})`);
    const cUrl = new URL(c.url);
    assert.equal(cUrl.searchParams.get('sign'), signed.sign, `signature (${signType}, ${subject})`);
    const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: appPrivatePem,
      keyType: 'PKCS8', signType, alipayPublicKey: alipayPublicPem });
    const { url, execParams } = sdk.formatUrl(sdk.config.gateway, signed);
    assert.equal(c.url, url, `URL (${signType}, ${subject})`);
    const sdkBody = new URLSearchParams(execParams).toString();
    assert.equal(c.body, sdkBody, `body (${signType}, ${subject})`);
    // The SDK's own request, as the sandbox receives it, verifies in C (and only untouched).
    const got = JSON.parse(run(['verify-request', keyDir, url, sdkBody]));
    assert.equal(got.biz_content, JSON.stringify(biz));
    assert.throws(() => run(['verify-request', keyDir, url.replace('app_id=2021', 'app_id=2022'), sdkBody]));
    checks += 6;
  }
}

// (b) responses signed following the SDK's rules verify in C; tampering and forgeries do not.
const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: appPrivatePem, keyType: 'PKCS8',
  alipayPublicKey: alipayPublicPem });
const rsaSign = text => crypto.createSign('RSA-SHA256').update(text, 'utf8').sign(alipayPrivatePem, 'base64');
const node = JSON.stringify({
  code: '10000', msg: 'Success', trade_no: '2026112622001412341234567890',
  out_trade_no: 'T01_20261126_7', total_amount: '88.88', buyer_logon_id: '159****5620',
  subject: '中文 {braces} "quotes" \\ /slash', fund_bill_list: [{ amount: '88.88', fund_channel: 'ALIPAYACCOUNT' }],
});
const sig = rsaSign(node);
const body = `{"alipay_trade_pay_response":${node},"sign":"${sig}"}`;
sdk.checkResponseSign(body, 'alipay_trade_pay_response', sig); // the SDK itself accepts it
let v = JSON.parse(run(['verify-response', keyDir, 'alipay.trade.pay', '-'], body));
assert.deepEqual([v.class, v.verified], ['success', true], 'SDK-rule response verifies in C');
checks++;
const nodeStart = body.indexOf(':') + 1;
for (let i = nodeStart; i < nodeStart + node.length; i += 7) {
  const buf = Buffer.from(body, 'utf8');
  buf[i] ^= 0x01;
  const w = JSON.parse(run(['verify-response', keyDir, 'alipay.trade.pay', '-'], buf));
  assert.equal(w.verified, false, `flipped byte ${i} must not verify`);
  assert.notEqual(w.class, 'success');
  checks++;
}
const forged = `{"alipay_trade_pay_response":{"code":"10000","trade_no":"1"},"alipay_trade_pay_response":${node},"sign":"${sig}"}`;
v = JSON.parse(run(['verify-response', keyDir, 'alipay.trade.pay', '-'], forged));
assert.deepEqual([v.class, v.verified], ['unknown', false], 'duplicated root key is rejected');
const certSn = run(['cert-sn', path.join(keyDir, 'alipay-cert.crt')]).trim();
const withSn = `{"alipay_trade_pay_response":${node},"alipay_cert_sn":"${certSn}","sign":"${sig}"}`;
sdk.checkResponseSign(withSn, 'alipay_trade_pay_response', sig);
v = JSON.parse(run(['verify-response', keyDir, 'alipay.trade.pay', certSn], withSn));
assert.deepEqual([v.class, v.verified], ['success', true], 'alipay_cert_sn between node and sign');
checks += 2;

// (c) responses signed by C pass the SDK's checkResponseSign (Alipay's \/ escaping included).
for (const sn of ['-', certSn]) {
  const cBody = run(['sign-response', keyDir, 'alipay.trade.precreate', sn],
    JSON.stringify({ code: '10000', msg: 'Success', out_trade_no: 'Q1', qr_code: 'https://qr.alipay.com/bax1', subject: '中文' }));
  assert.ok(cBody.includes('https:\\/\\/qr.alipay.com\\/bax1'));
  const parsed = JSON.parse(cBody);
  sdk.checkResponseSign(cBody, 'alipay_trade_precreate_response', parsed.sign);
  assert.throws(() => sdk.checkResponseSign(cBody.replace('Q1', 'Q2'), 'alipay_trade_precreate_response', parsed.sign));
  checks += 2;
}

// (d) notifications: C-signed pass checkNotifySignV2; Node-signed pass the C verifier.
const fields = {
  notify_time: '2026-11-26 13:41:30', notify_type: 'trade_status_sync',
  notify_id: '2026112600222134130012345', app_id: '2021000000000001', version: '1.0',
  trade_no: '2026112622001412341234567890', out_trade_no: 'T01_20261126_7',
  seller_id: '2088000000000001', trade_status: 'TRADE_SUCCESS', total_amount: '88.88',
  subject: '中文 商品 & = + %', passback_params: encodeURIComponent('order=7&x=y z'),
};
for (const cs of ['utf-8']) {
  const form = run(['sign-notify', keyDir, cs], JSON.stringify(fields));
  const postData = Object.fromEntries(new URLSearchParams(form));
  assert.equal(postData.passback_params, fields.passback_params);
  assert.equal(sdk.checkNotifySignV2(postData), true, 'C-signed notification passes the SDK');
  assert.equal(sdk.checkNotifySignV2({ ...postData, total_amount: '99.99' }), false);
  checks += 2;
}
{
  const signed = { ...fields, charset: 'utf-8' };
  const content = Object.keys(signed).sort().map(k => `${k}=${signed[k]}`).join('&');
  const postData = { ...signed, sign_type: 'RSA2', sign: rsaSign(content) };
  assert.equal(sdk.checkNotifySignV2(postData), true, 'the SDK accepts its own rules');
  const form = new URLSearchParams(postData).toString();
  const got = JSON.parse(run(['verify-notify', keyDir], form));
  assert.equal(got.passback_params, fields.passback_params, 'decoded exactly once');
  assert.equal(got._total_amount_fen, 8888);
  assert.throws(() => run(['verify-notify', keyDir], form.replace('88.88', '88.89')));
  checks += 3;
}

// (e) certificate SNs equal the SDK's.
for (const name of ['app-cert.crt', 'alipay-cert.crt']) {
  assert.equal(run(['cert-sn', path.join(keyDir, name)]).trim(),
    certutil.getSNFromPath(path.join(keyDir, name), false), `SN of ${name}`);
  checks++;
}
const rootSn = run(['root-cert-sn', path.join(keyDir, 'root-bundle.crt')]).trim();
assert.equal(rootSn, certutil.getSNFromPath(path.join(keyDir, 'root-bundle.crt'), true));
assert.equal(rootSn.split('_').length, 2, 'the EC root is skipped');
const prodPath = path.join(keyDir, 'alipay-root-production.crt');
assert.equal(run(['root-cert-sn', prodPath]).trim(), certutil.getSNFromPath(prodPath, true),
  'the production root bundle');
checks += 2;

console.log(`${checks} interop checks passed`);
