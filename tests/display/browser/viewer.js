// SPDX-License-Identifier: MIT
// A browser viewer for the web display tests: Debian's chromium driven through playwright-core,
// commanded over stdin with one JSON object per line, answering one JSON object per line.
//   {"cmd":"open","url":U,"width":W,"height":H}   load the page (once)
//   {"cmd":"attach","cdp":C,"url":U}  use the page at U of a running browser (DevTools at C)
//   {"cmd":"resize","width":W,"height":H}
//   {"cmd":"wait","screen":S,"after_seq":N,"timeout_ms":T}
//        until the page shows screen S from an event newer than N: its texts and when it
//        applied it (Date.now() in the page)
//   {"cmd":"state"}            the same without waiting
//   {"cmd":"layout"}           geometry checks: everything visible inside the window, QR module
//   {"cmd":"screenshot","path":P}
//   {"cmd":"mark"} / {"cmd":"marked"}   a value that only survives if the page is never reloaded
//   {"cmd":"fonts","selector":S}   the font families used to draw S's text
//   {"cmd":"html"}             the document as it is now
//   {"cmd":"requests"}         every URL the page asked for, and its navigations
//   {"cmd":"close"}
'use strict';
const readline = require('readline');
const { chromium } = require('playwright-core');

const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars',
	'--font-render-hinting=none'];

let browser = null;
let page = null;
const requests = [];
let navigations = 0;

function snapshot() {
	return page.evaluate(() => {
		const ids = ['store', 'title_zh', 'title_en', 'amount', 'reason_zh', 'reason_en',
			'reason_text', 'reason_code', 'sub_zh', 'sub_en', 'subject', 'countdown'];
		const texts = {};
		for (const id of ids) {
			const e = document.getElementById(id);
			if (e && e.offsetParent !== null && e.textContent)
				texts[id] = e.textContent;
		}
		const b = document.body;
		return {
			screen: b.dataset.screen,
			seq: Number(b.dataset.seq || -1),
			shown_at: Number(b.dataset.shownAt || 0),
			texts,
			visible_text: b.innerText,
			has_svg: !!document.querySelector('#qrbox svg'),
		};
	});
}

function layout() {
	return page.evaluate(() => {
		const vw = window.innerWidth, vh = window.innerHeight, out = [];
		for (const e of document.querySelectorAll('header *, #info > *, #qrbox svg')) {
			if (e.offsetParent === null && e.tagName !== 'svg')
				continue;
			const r = e.getBoundingClientRect();
			if (r.width === 0 || r.height === 0)
				continue;
			if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)
				out.push(`${e.id || e.tagName} outside the window: ${JSON.stringify(r)}`);
			if (e.scrollWidth > e.clientWidth + 1 && e.id !== 'store')
				out.push(`${e.id || e.tagName} overflows`);
		}
		const svg = document.querySelector('#qrbox svg');
		let module_px = 0;
		if (svg)
			module_px = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
		return { problems: out, module_px, width: vw, height: vh,
			screen_width: screen.width, screen_height: screen.height };
	});
}

async function handle(m) {
	switch (m.cmd) {
	case 'open': {
		browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
		const ctx = await browser.newContext({ viewport: { width: m.width, height: m.height },
			deviceScaleFactor: 1 });
		page = await ctx.newPage();
		page.on('request', (r) => requests.push(r.url()));
		page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
		await page.goto(m.url);
		return { ok: true };
	}
	case 'attach': {
		// A browser started by someone else (the kiosk command line), through its DevTools port.
		browser = await chromium.connectOverCDP(m.cdp);
		for (let i = 0; i < 100 && !page; i++) {
			const pages = browser.contexts().flatMap((c) => c.pages());
			page = pages.find((p) => p.url().startsWith(m.url)) || null;
			if (!page)
				await new Promise((r) => setTimeout(r, 100));
		}
		if (!page)
			return { error: `no page at ${m.url}` };
		return { ok: true };
	}
	case 'resize':
		await page.setViewportSize({ width: m.width, height: m.height });
		await page.waitForTimeout(300);
		return { ok: true };
	case 'wait': {
		const deadline = Date.now() + (m.timeout_ms || 20000);
		for (;;) {
			const s = await snapshot();
			if (s.screen === m.screen && s.seq > (m.after_seq ?? -1))
				return s;
			if (Date.now() > deadline)
				return { error: `no ${m.screen} screen; the page shows ${s.screen}`, last: s };
			await page.waitForTimeout(20);
		}
	}
	case 'state':
		return snapshot();
	case 'layout':
		return layout();
	case 'screenshot':
		await page.screenshot({ path: m.path });
		return { ok: true };
	case 'mark':
		await page.evaluate(() => { window.__f2fpayTestMark = 'still here'; });
		return { ok: true };
	case 'marked':
		return { mark: await page.evaluate(() => window.__f2fpayTestMark || null) };
	case 'fonts': {
		// The fonts the browser really drew an element's text with (not just the CSS list).
		const cdp = await page.context().newCDPSession(page);
		await cdp.send('DOM.enable');
		await cdp.send('CSS.enable');
		const { root } = await cdp.send('DOM.getDocument');
		const { nodeId } = await cdp.send('DOM.querySelector',
			{ nodeId: root.nodeId, selector: m.selector });
		const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
		await cdp.detach();
		return { fonts: fonts.map((f) => f.familyName) };
	}
	case 'html':
		return { html: await page.content() };
	case 'requests':
		return { requests, navigations };
	case 'close':
		if (browser)
			await browser.close();
		return { ok: true };
	}
	return { error: `unknown command ${m.cmd}` };
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
	chain = chain.then(async () => {
		let reply;
		try {
			reply = await handle(JSON.parse(line));
		} catch (e) {
			reply = { error: String(e && e.stack || e) };
		}
		process.stdout.write(JSON.stringify(reply) + '\n');
	});
});
rl.on('close', () => chain.then(() => browser && browser.close()));
