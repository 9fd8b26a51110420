/* Site search in the reader's browser, over the Pagefind index beside the search page
   (search/pagefind/<county>/, one index per county, merged here). Nothing is fetched from
   another host. How the index is cut into characters: generator/search.py and docs/search.md.

   A query is split into phrases at spaces and punctuation; a story matches when it holds every
   phrase exactly as typed: each is looked up as an exact phrase of characters, and so is each
   filter (a word the index holds for it). */
(function () {
  'use strict';
  var form = document.querySelector('form.search-form');
  var status = document.getElementById('search-status');
  var list = document.getElementById('search-results');
  var more = document.getElementById('search-more');
  var browse = document.getElementById('search-browse');
  var script = document.currentScript;
  if (!form || !status || !list || !script) return;
  var root = new URL('../', script.src);  // this file is js/search.js below the site's root
  var PAGE = 20;  // results shown at a time
  var WIDE = /[^\x00-\x7f\u00c0-\u024f]/u;  // as generator/search.py: each stands alone in the index
  var pagefind = null;
  var current = 0;  // the latest search; an older one that ends later is dropped
  var shown = [];  // the matches of the current search, best first
  var timer = null;

  function say(text) {
    status.textContent = text;
  }

  function fail(text) {
    say(text);
    list.removeAttribute('aria-busy');
    form.hidden = true;
    if (browse) browse.hidden = false;
  }

  /* The characters of a phrase as Pagefind's words: each wide character alone. */
  function cut(phrase) {
    return phrase.replace(/[^\x00-\x7f\u00c0-\u024f]/gu, function (c) { return ' ' + c + ' '; })
      .replace(/\s+/g, ' ').trim();
  }

  function phrases(query) {
    return query.split(/[\s\p{P}\p{S}]+/u).filter(function (p) { return p; });
  }

  function filters() {
    var chosen = {};
    form.querySelectorAll('select[data-filter]').forEach(function (select) {
      if (select.value) chosen[select.dataset.filter] = select.value;
    });
    return chosen;
  }

  /* Text as it was written: the spaces the index put around each wide character taken out. */
  function tidy(text) {
    return text.replace(/\s+/g, function (space, at, all) {
      var before = all.charAt(at - 1), after = all.charAt(at + space.length);
      return !before || !after || WIDE.test(before) || WIDE.test(after) ? '' : ' ';
    });
  }

  /* An excerpt with … where the story goes on before or after it. */
  function clipped(text, whole) {
    if (!text) return text;
    return (whole.startsWith(text) ? '' : '…') + text + (whole.endsWith(text) ? '' : '…');
  }

  /* Text as nodes, every phrase of the query in it marked. */
  function marked(text, words) {
    var out = document.createDocumentFragment();
    var pattern = words.length ? new RegExp(words.map(function (w) {
      return w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('|'), 'giu') : null;
    var at = 0, m;
    while (pattern && (m = pattern.exec(text)) !== null) {
      if (!m[0]) { pattern.lastIndex++; continue; }
      out.appendChild(document.createTextNode(text.slice(at, m.index)));
      var mark = document.createElement('mark');
      mark.textContent = m[0];
      out.appendChild(mark);
      at = m.index + m[0].length;
    }
    out.appendChild(document.createTextNode(text.slice(at)));
    return out;
  }

  /* The text of Pagefind's excerpt (HTML, parsed inert: nothing in it can run or load). */
  function excerptText(html) {
    return new DOMParser().parseFromString('<p>' + html + '</p>', 'text/html').body.textContent;
  }

  function item(data, words) {
    var li = document.createElement('li');
    li.className = 'search-result';
    var h2 = document.createElement('h2');
    var a = document.createElement('a');
    a.href = data.url;
    a.appendChild(marked(data.meta.title || data.url, words));
    h2.appendChild(a);
    li.appendChild(h2);
    var meta = document.createElement('p');
    meta.className = 'meta';
    [data.meta.place, data.meta.date].forEach(function (text) {
      if (!text) return;
      var span = document.createElement('span');
      span.textContent = text;
      meta.appendChild(span);
    });
    li.appendChild(meta);
    var p = document.createElement('p');
    p.className = 'search-excerpt';
    p.appendChild(marked(clipped(tidy(excerptText(data.excerpt || '')), tidy(data.content || '')), words));
    li.appendChild(p);
    return li;
  }

  async function showMore(search, focus) {
    var start = list.children.length;
    var batch = shown.slice(start, start + PAGE);
    var data = await Promise.all(batch.map(function (r) { return r.data(); }));
    if (search !== current) return;
    var words = phrases(form.elements.q.value.trim());
    data.forEach(function (d) { list.appendChild(item(d, words)); });
    more.hidden = list.children.length >= shown.length;
    if (focus && list.children[start]) list.children[start].querySelector('a').focus();
  }

  /* A filter as the word the index holds for it (generator/search.py `token`). */
  function token(kind, value) {
    return 'gsh_' + kind + '_' + value.replace(/-/g, '_');
  }

  /* The ids of the stories every one of the searches found. */
  function common(searches) {
    var found = null;
    searches.forEach(function (r) {
      var ids = new Set(r.results.map(function (x) { return x.id; }));
      found = found === null ? ids : new Set(Array.from(found).filter(function (id) { return ids.has(id); }));
    });
    return found;
  }

  function exactly(words) {
    return Promise.all(words.map(function (w) { return pagefind.search('"' + w + '"'); }));
  }

  /* The stories that hold every phrase of the query and pass the filters, those that hold them
     most often first (Pagefind's own ranking would need a second, looser search: twice the time). */
  async function matches(query, chosen) {
    var words = phrases(query).map(cut);
    var filters = Object.keys(chosen).map(function (k) { return token(k, chosen[k]); });
    if (!words.length) return listed(chosen);
    var exact = await exactly(words.concat(filters));
    var found = common(exact);
    var often = new Map();
    words.forEach(function (w, i) {
      var size = w.split(' ').length;  // a match is that many locations
      exact[i].results.forEach(function (x) {
        if (found.has(x.id)) often.set(x.id, (often.get(x.id) || 0) + x.words.length / size);
      });
    });
    // The first phrase's results: their excerpts are centred on it.
    return exact[0].results.filter(function (x) { return found.has(x.id); })
      .sort(function (a, b) { return often.get(b.id) - often.get(a.id); });
  }

  /* No words, only filters: the stories they leave, county by county (in the site's order), newest
     first. One search a county: the counties' indexes, merged, would interleave their orders. */
  async function listed(chosen) {
    var select = form.querySelector('select[data-filter="county"]');
    var counties = chosen.county ? [chosen.county] : select ?
      Array.from(select.options).map(function (o) { return o.value; }).filter(function (v) { return v; }) : [];
    var others = Object.keys(chosen).filter(function (k) { return k !== 'county'; });
    var rest = others.map(function (k) { return token(k, chosen[k]); });
    var firsts = counties.length ? counties.map(function (c) { return token('county', c); }) : [rest.shift()];
    var found = rest.length ? common(await exactly(rest)) : null;
    var lists = await Promise.all(firsts.map(function (w) {
      return pagefind.search('"' + w + '"', {sort: {date: 'desc'}});
    }));
    return [].concat.apply([], lists.map(function (r) {
      return r.results.filter(function (x) { return found === null || found.has(x.id); });
    }));
  }

  async function run() {
    var search = ++current;
    var query = form.elements.q.value.trim();
    var chosen = filters();
    remember(query, chosen);
    list.textContent = '';
    more.hidden = true;
    shown = [];
    if (!query && !Object.keys(chosen).length) {
      say('');
      done(query, chosen, 0, 0);
      return;
    }
    say('正在搜索……');
    list.setAttribute('aria-busy', 'true');
    var started = performance.now();
    var results;
    try {
      results = await matches(query, chosen);
    } catch (error) {
      if (search === current) {
        say('搜索出错了：' + error);
        list.removeAttribute('aria-busy');
      }
      return;
    }
    if (search !== current) return;
    shown = results;
    await showMore(search, false);
    if (search !== current) return;
    var what = query ? '含有“' + query + '”的故事' : '故事';
    var where = Object.keys(chosen).length ? '（按所选条件）' : '';
    say(results.length ? '找到 ' + results.length + ' 个' + what + where + '。'
                       : '没有找到' + what + where + '。换个字词再试试，或减少筛选条件。');
    done(query, chosen, results.length, performance.now() - started);
  }

  /* What was searched and found, on the list, for tests and measurements (tests/validators/search.js). */
  function done(query, chosen, count, ms) {
    list.removeAttribute('aria-busy');
    list.dataset.query = query;
    list.dataset.filters = Object.keys(chosen).sort().map(function (k) { return k + '=' + chosen[k]; }).join('&');
    list.dataset.count = String(count);
    list.dataset.ms = String(Math.round(ms));
  }

  /* The address keeps the query, so that a search can be bookmarked, shared or reloaded. */
  function remember(query, chosen) {
    var params = new URLSearchParams();
    if (query) params.set('q', query);
    Object.keys(chosen).forEach(function (k) {
      var select = form.querySelector('select[data-filter="' + k + '"]');
      params.set(select.name, chosen[k]);
    });
    var text = params.toString();
    history.replaceState(null, '', location.pathname + (text ? '?' + text : ''));
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }

  async function load(shards) {
    var bundle = new URL('search/pagefind/', root);
    var options = {baseUrl: root.pathname, excerptLength: 80};  // 80 words: each Chinese character is one
    var rest = shards.slice();
    while (rest.length && !pagefind) {
      var first = rest.shift();
      try {
        var module = await import(new URL(first + '/pagefind.js', bundle).href);
        await module.options(options);
        await module.init();
        pagefind = module;
      } catch (error) {
        // this county's index is missing (the preview may still be making it): try the next
      }
    }
    if (!pagefind) throw new Error('没有找到搜索索引');
    for (var i = 0; i < rest.length; i++) {
      try {
        await pagefind.mergeIndex(new URL(rest[i] + '/', bundle).href, options);
      } catch (error) {
        // leave a missing county out rather than the whole search
      }
    }
  }

  async function start() {
    var shards = (form.dataset.shards || '').split(' ').filter(function (s) { return s; });
    if (!shards.length) return;  // the page already says there is nothing to search
    if (location.protocol === 'file:') {
      fail('直接打开本机文件时，浏览器不允许搜索；请通过网页服务器访问本站，或按县（市、区）、“八个好”类别浏览。');
      return;
    }
    try {
      await load(shards);
    } catch (error) {
      fail('搜索暂时无法使用（' + error.message + '）；可以按县（市、区）或“八个好”类别浏览。');
      return;
    }
    var params = new URLSearchParams(location.search);
    form.elements.q.value = params.get('q') || '';
    form.querySelectorAll('select[data-filter]').forEach(function (select) {
      var wanted = params.get(select.name);
      if (wanted && Array.from(select.options).some(function (o) { return o.value === wanted; })) {
        select.value = wanted;
      }
    });
    form.hidden = false;
    say('');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      clearTimeout(timer);
      run();
    });
    form.elements.q.addEventListener('input', later);
    form.querySelectorAll('select').forEach(function (select) { select.addEventListener('change', run); });
    more.addEventListener('click', function () { showMore(current, true); });
    if (form.elements.q.value || Object.keys(filters()).length) run();
    else list.removeAttribute('aria-busy');
  }

  // This browser runs the search: what the page says to one that cannot goes.
  if (browse) browse.hidden = true;
  var old = document.querySelector('.search-old');
  if (old) old.remove();
  if (form.dataset.shards) say('正在载入搜索……');
  start();
})();
