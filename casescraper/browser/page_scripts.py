"""The in-page scripts of the page object (casescraper/browser/page.py): JavaScript run in the
portal's page through Selenium and DevTools. They hold no selector: they read the table
page.py passes them (`sel`, casescraper/browser/selectors.py's SELECTORS)."""

MAX_BODY_CHARS = 4_000_000  # a bigger answer body is dropped (marked body_skipped)

# Sees the page's XHR/fetch calls; keeps the portal's answers (url, status, body) and
# counts the portal's pending calls. The portal shows an HTTP error as "No data
# available", so the DOM alone cannot tell "no such file" from "refused".
XHR_HOOK = """
if (!window.__cs) {
  const st = window.__cs = {pending: 0, log: []};
  const portal = url => {
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin &&
        u.pathname.toLowerCase().startsWith('/courtfilesanddecisions/') ? u : null;
    } catch (e) { return null; }
  };
  const begin = url => { const u = portal(url); if (u) st.pending++; return u; };
  // The portal's Date (its clock: what the ledger's "final" decisions use) and
  // Retry-After (how long a 429 asks us to pause) are kept with each answer.
  const end = (u, status, body, header) => {
    if (!u) return;
    st.pending--;
    const h = name => { try { return header ? header(name) : null; } catch (e) { return null; } };
    const entry = {endpoint: u.pathname.split('/').filter(Boolean).pop() || '', url: u.href, status, body: '',
                   date: h('Date'), retry_after: h('Retry-After')};
    if (String(body).length > %(max_body)d) entry.body_skipped = String(body).length;
    else entry.body = String(body || '');
    st.log.push(entry);
    if (st.wake) st.wake();
  };
  const xhrBody = x => x.responseType === '' || x.responseType === 'text' ? x.responseText
    : x.responseType === 'json' && x.response != null ? JSON.stringify(x.response) : '';
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__csUrl = String(url); return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    this.__csPortal = begin(this.__csUrl);
    if (this.__csPortal && !this.__csHooked) {  // one listener per object, reused or not
      this.__csHooked = true;
      this.addEventListener('loadend', () => {
        const u = this.__csPortal; this.__csPortal = null;
        end(u, this.status, xhrBody(this), name => this.getResponseHeader(name));
      });
    }
    try { return send.apply(this, arguments); }
    catch (e) { const u = this.__csPortal; this.__csPortal = null; end(u, 0, ''); throw e; }
  };
  if (window.fetch) {
    const f = window.fetch;
    window.fetch = function (input) {
      const u = begin(String(input && input.url || input));
      let p;
      try { p = f.apply(this, arguments); } catch (e) { end(u, 0, ''); throw e; }
      if (!u) return p;
      return p.then(r => {
        const header = name => r.headers.get(name);
        r.clone().text().then(b => end(u, r.status, b, header), () => end(u, r.status, '', header));
        return r;
      }, e => { end(u, 0, ''); throw e; });
    };
  }
}
""" % {"max_body": MAX_BODY_CHARS}

# Before an element's HTML is taken: every element inside it that the browser does not
# render gets the attribute data-cs-hidden (parser: text.HIDDEN_MARK), so the parser,
# offline too, reads the text a person saw. Not rendered: computed display none or
# visibility hidden, the `hidden` attribute, a clipped box of 1px or less (the
# "visually hidden" helper texts of WET and Bootstrap). The marks are removed right after,
# so the live page never keeps a stale one. Defines markedHtml(el) -> outerHTML.
MARK_HIDDEN = """
const notRendered = el => {
  if (el.hasAttribute('hidden')) return true;
  const cs = getComputedStyle(el);
  if (cs.display === 'none' || cs.visibility === 'hidden') return true;
  const r = el.getBoundingClientRect();
  return r.width <= 1 && r.height <= 1 && (cs.overflow === 'hidden' || cs.clip !== 'auto'
    || (cs.clipPath && cs.clipPath !== 'none'));
};
const markedHtml = el => {
  if (!el) return '';
  const marked = [el, ...el.querySelectorAll('*')].filter(notRendered);
  for (const m of marked) m.setAttribute('data-cs-hidden', '');
  try { return el.outerHTML; } finally { for (const m of marked) m.removeAttribute('data-cs-hidden'); }
};
"""

# Installed once per page load as window.__cs.run(caseNo, timeoutMs) -> Promise of the
# result, and window.__cs.dismissPopups(); each case is then one DevTools Runtime.evaluate.
CASE_SCRIPT = """
const [sel] = arguments;
const st = window.__cs;
const q = (s, root) => (root || document).querySelector(s);
const shown = el => !!el && getComputedStyle(el).display !== 'none'
  && getComputedStyle(el).visibility !== 'hidden' && el.getClientRects().length > 0;
%(mark_hidden)s
const outer = markedHtml;
const text = el => (el ? el.textContent : '').replace(/\\s+/g, ' ').trim();
const words = new Set(sel.close_words);
const closeControl = box => {
  for (const s of sel.close_controls) {
    const c = [...box.querySelectorAll(s)].find(shown); if (c) return c;
  }
  return [...box.querySelectorAll('button, a, [role="button"]')].find(b => shown(b) &&
    [b.textContent, b.getAttribute('aria-label'), b.title].some(t => t && words.has(t.trim().toLowerCase())));
};
const press = target => { for (const type of ['keydown', 'keyup']) target.dispatchEvent(new KeyboardEvent(
  type, {key: 'Escape', code: 'Escape', keyCode: 27, which: 27, bubbles: true, cancelable: true})); };
const clickOn = el => { for (const type of ['mousedown', 'mouseup', 'click']) el.dispatchEvent(
  new MouseEvent(type, {bubbles: true, cancelable: true, view: window})); };
// Ways to close a dialog or modal, in the order a person tries them. The control is tried
// more than once: Bootstrap ignores a hide() while its fade-in runs.
const closeWays = (box, control) => {
  const click = () => { const c = control ? q(control) : closeControl(box); if (!c) return false; c.click(); };
  return [...Array(10)].map(() => ['its close control', click]).concat([
    ['Escape', () => press(box.contains(document.activeElement) ? document.activeElement : box)],
    ['Escape on the page', () => press(document)],
    ['a click outside it', () => {  // Bootstrap: on the modal itself, around its dialog
      if (box.classList.contains('modal')) clickOn(box);
      else clickOn([...document.querySelectorAll(sel.backdrops)].find(shown) || document.body);
    }]]);
};
window.__cs.dismissPopups = () => {
  for (const m of document.querySelectorAll(sel.popups)) {
    if (m.matches(sel.modal) || !shown(m)) continue;
    const c = closeControl(m);
    if (c) c.click(); else press(m);  // not waited for: our clicks do not need it gone
  }
};
window.__cs.run = (caseNo, timeoutMs) => new Promise(done => {
const deadline = performance.now() + timeoutMs;
// Waits wake up on DOM mutations and portal answers, not on a polling timer: a 5 ms
// poll cost ~5 ms per wait. The 50 ms interval only enforces deadlines and catches
// changes no mutation reports (styles computed by transitions).
const waiters = new Set();
const wake = () => { for (const check of [...waiters]) check(); };
const observer = new MutationObserver(wake);
observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
st.wake = wake;
const until = (cond, what, limit) => new Promise((resolve, reject) => {
  const end = Math.min(deadline, performance.now() + (limit || timeoutMs));
  let timer = null;
  const settleWith = (fn, value) => { waiters.delete(check); clearInterval(timer); fn(value); };
  const check = () => {
    let ok = false;
    try { ok = cond(); } catch (e) { return settleWith(reject, {error: 'script', what, message: String(e)}); }
    if (ok) return settleWith(resolve);
    if (performance.now() > end) return settleWith(reject, {error: 'timeout', what});
  };
  waiters.add(check);
  timer = setInterval(check, 50);
  check();
});
const tolerate = p => p.then(() => true, e => { if (e && e.error === 'timeout') return false; throw e; });
const since = mark => st.log.slice(mark);
const failed = x => x.status >= 400 || x.status === 0;
const httpError = mark => since(mark).find(failed);
const settle = async (mark, what) => {
  await until(() => st.pending === 0 && st.log.length > mark && !shown(q(sel.loading)), what);
  const bad = httpError(mark);
  if (bad) throw {error: 'http', status: bad.status, url: bad.url, what, retry_after: bad.retry_after};
};
const closing = box => box.classList.contains('modal') && !box.classList.contains('show');
const moving = box => box.getAnimations({subtree: true}).some(a => a instanceof CSSTransition);
// Closed, or for a Bootstrap modal (`fadeOut`: false) closing: its fade-out then ends
// while the next case searches, and the next More waits for it.
const close = async (box, visible, ways, fadeOut = true) => {
  const gone = () => !visible() || (!fadeOut && closing(box));
  for (const [how, act] of ways) {
    if (gone()) return true;
    await tolerate(until(() => !moving(box), 'a fade to end', 1000));
    if (!closing(box) && act() === false) continue;
    if (await tolerate(until(() => !visible() || closing(box), how, 100)) && fadeOut) {
      await tolerate(until(() => !visible(), how, 2000));  // a fade-out runs ~300 ms
    }
  }
  return gone();
};
const want = caseNo.toUpperCase();
const titled = el => text(el).toUpperCase().split(/[^A-Z0-9-]+/).includes(want);
// Rows by the "Court Number" header, as a person reads the table, not by position.
const findRow = table => {
  const heads = [...table.querySelectorAll('thead th')].map(th => text(th).toLowerCase());
  const col = Math.max(0, heads.indexOf(sel.court_number_header.toLowerCase()));
  return [...table.querySelectorAll('tbody > tr')].find(
    tr => tr.cells.length > col && tr.cells.length > 1 && text(tr.cells[col]).toUpperCase() === want);
};
// Whether the portal's answers list the case: then its row must show, however late.
const listed = () => st.log.some(x => {
  try { return (JSON.parse(x.body).data || []).some(r => String(r.COURT_NO || '').toUpperCase() === want); }
  catch (e) { return false; }
});
const parties = async (row, dlg) => {
  const button = q(sel.parties_button, row);
  const mark = st.log.length;
  let note = null;
  if (dlg && shown(dlg)) await tolerate(until(() => !shown(dlg), 'the previous parties dialog to hide', 2000));
  if (button) {
    button.click();
    const ready = () => st.pending === 0 && st.log.length > mark && (!dlg || shown(dlg) || httpError(mark));
    if (!await tolerate(until(ready, 'parties', 4000))) note = 'no parties answer or dialog within 4 s';
  } else {
    note = 'parties button ' + sel.parties_button + ' missing';
  }
  const box = dlg && (dlg.closest(sel.dialog_box) || dlg);  // a widget may wrap it on opening
  const html = outer(box);
  const asked = x => x.endpoint.toLowerCase() === sel.parties_endpoint.toLowerCase();
  const good = () => since(mark).some(x => asked(x) && x.status === 200);
  if (!good() && !(dlg && shown(dlg) && text(q(sel.dialog_body, dlg) || dlg))) {
    // The same same-origin request the page makes (SITE.md), made from the page.
    const tried = since(mark).find(asked);
    const url = tried ? tried.url : new URL(sel.parties_query + encodeURIComponent(caseNo), location.href).href;
    for (let i = 0; i < 2 && !good(); i++) {
      const stop = new AbortController(), timer = setTimeout(() => stop.abort(), 3000);
      await fetch(url, {credentials: 'same-origin', signal: stop.signal, headers: {
        'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json, text/javascript, */*; q=0.01'}})
        .catch(() => null);
      clearTimeout(timer);
      await tolerate(until(() => st.pending === 0, 'parties answer', 1000));
    }
    note = (note ? note + '; ' : '') + (good() ? 'asked the portal for them' : 'the portal did not answer them');
  }
  const refused = since(mark).find(x => [401, 403, 429].includes(x.status));
  if (refused) throw {error: 'http', status: refused.status, url: refused.url, what: 'parties',
                      retry_after: refused.retry_after};
  let stuck = null;
  if (dlg && shown(dlg) && !await close(box, () => shown(dlg), closeWays(box))) {
    stuck = 'parties dialog did not close';
  }
  return {html, stuck, note};
};
async function run() {
  const input = q(sel.input, q(sel.panel) || document.body);
  if (!input) return {error: 'layout', element: sel.input, detail: 'looked for in ' + sel.panel};
  for (const key of ['submit', 'results']) {
    if (!q(sel[key])) return {error: 'layout', element: sel[key]};
  }
  window.__cs.dismissPopups();
  // Rows already there are marked: the new search's rows are told from them.
  for (const tr of q(sel.results).querySelectorAll('tbody > tr')) tr.__csOld = true;
  st.log.length = 0;  // only this case's answers matter; the log must not grow for days
  input.value = caseNo;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  q(sel.submit).click();
  await settle(0, 'search results');
  // FACT: DataTables builds its wrapper, thead and tbody on the first search.
  const drawn = () => [...q(sel.results).querySelectorAll('tbody > tr')].some(tr => !tr.__csOld);
  const isListed = listed();
  await until(() => drawn() && (!isListed || findRow(q(sel.results))), 'search results to show', 5000);
  const row = findRow(q(sel.results));
  const area = () => outer(q(sel.results_area) || q(sel.results));
  const page = dialog => '<html><body>' + area() + dialog + outer(q(sel.modal)) + '</body></html>';
  const dlg = q(sel.dialog);
  const answers = () => st.log.map(({endpoint, url, status, body, body_skipped, date, retry_after}) =>
    body_skipped ? {endpoint, url, status, body, body_skipped, date, retry_after}
      : {endpoint, url, status, body, date, retry_after});
  if (!row) return {found: false, html: page(outer(dlg)), answers: answers()};
  if (!q(sel.more_button, row)) return {error: 'layout', element: sel.more_button};
  // Parties never fail a case: the portal's answer is what counts, the dialog a fallback.
  const p = await parties(row, dlg);
  const modal = q(sel.modal);
  if (!modal) return {error: 'layout', element: sel.modal};
  // Bootstrap ignores show() while a fade runs: the last modal must be fully hidden.
  await until(() => !shown(modal), 'the previous details modal to hide', 3000);
  const mark = st.log.length;
  q(sel.more_button, row).click();
  await settle(mark, 'details');
  // Bootstrap adds "show" only once the modal is displayed: no layout needed to know.
  await until(() => modal.classList.contains('show') && titled(q(sel.modal_title)), 'details modal to open');
  const result = {found: true, html: page(p.html), answers: answers(),
                  parties_stuck: p.stuck, parties_note: p.note};
  if (!await close(modal, () => shown(modal), closeWays(modal, sel.modal_close), false)) {
    result.stuck = 'details modal did not close';
  }
  return result;
}
const finish = result => { observer.disconnect(); st.wake = null; done(result); };
run().then(finish, e => finish(e && e.error ? e : {error: 'script', message: String(e)}));
});
""".replace("%(mark_hidden)s", MARK_HIDDEN)

SETUP_SCRIPT = """
const [sel, court] = arguments;
window.__cs.dismissPopups();
const tab = document.querySelector(sel.tab);
if (!tab) return {error: 'layout', element: sel.tab};
tab.click();
const panel = document.querySelector(sel.panel);
if (!panel || getComputedStyle(panel).display === 'none') return {error: 'layout', element: sel.panel + ' (shown by the tab)'};
const select = document.querySelector(sel.court);
if (!select) return {error: 'layout', element: sel.court};
if (![...select.options].some(o => o.value === court)) return {error: 'layout', element: sel.court + ' option ' + court};
select.value = court;
select.dispatchEvent(new Event('change', {bubbles: true}));
if (!panel.querySelector(sel.input)) return {error: 'layout', element: sel.input, detail: 'looked for in ' + sel.panel};
for (const key of ['submit', 'results']) {
  if (!document.querySelector(sel[key])) return {error: 'layout', element: sel[key]};
}
return {ok: true};
"""

# The portal's clock: the Date header of a HEAD request for the page (same origin),
# answered as epoch milliseconds, or null when there is none.
PORTAL_CLOCK_SCRIPT = """
try {
  const x = new XMLHttpRequest();
  x.open('HEAD', location.href, false);
  x.send();
  const date = x.getResponseHeader('Date');
  return date ? Date.parse(date) || null : null;
} catch (e) { return null; }
"""

PAGE_STATE_SCRIPT = """
const nav = performance.getEntriesByType('navigation')[0];
return {status: nav ? nav.responseStatus || 0 : 0, title: document.title, url: location.href,
        text: document.body ? document.body.innerText.slice(0, 2000) : ''};
"""
