// The chat: questions, streamed answers, [n] markers as buttons that open the cited passage.
// Multi-turn: the first question goes to the ask endpoint; follow-ups send the earlier turns
// (the API's chat-completions endpoint takes them), so "그럼 국회의원은?" is understood.

import { $, append, h } from "./dom.js";

const MAX_TURNS = 8; // the server keeps the last 8 turns too
// the server caps a chat request (64 messages, 8,000 characters each, 32,000 in all): earlier turns
// are sent shortened and the oldest dropped so a long conversation never turns into a 422
const MAX_MESSAGE_CHARS = 8000;
const MAX_HISTORY_CHARS = 24000;

/** The last turns that fit the server's limits on a chat request, oldest first. */
export function fitHistory(history) {
  const out = [];
  let total = 0;
  for (const turn of history.slice(-MAX_TURNS).reverse()) {
    const t = { question: turn.question.slice(0, MAX_MESSAGE_CHARS), answer: turn.answer.slice(0, MAX_MESSAGE_CHARS) };
    total += t.question.length + t.answer.length;
    if (total > MAX_HISTORY_CHARS) break;
    out.unshift(t);
  }
  return out;
}
const MARKER = /\[(\d{1,3})\]/g;

/** Split an answer into text and citation buttons for its [n] markers. */
export function renderAnswer(text, citations, onCite) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const out = [];
  let last = 0;
  for (const m of text.matchAll(MARKER)) {
    const c = byN.get(Number(m[1]));
    if (!c) continue; // a marker the server dropped (no such source) stays plain text
    out.push(text.slice(last, m.index));
    const label = c.page ? `출처 ${c.n}: ${c.source} ${c.page}쪽` : `출처 ${c.n}: ${c.source}`;
    out.push(h("button", { type: "button", class: "cite", "aria-label": label, title: label, onclick: () => onCite(c) }, `[${c.n}]`));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

export class Chat {
  /**
   * @param {() => import("./api.js").Api} api
   * @param {() => string} collection
   * @param {(citation: object) => void} onCite
   * @param {(message: string) => void} notify
   */
  constructor(api, collection, onCite, notify) {
    this.api = api;
    this.collection = collection;
    this.onCite = onCite;
    this.notify = notify;
    this.history = [];
    this.abort = null;
    this.list = $("messages");
    this.input = $("question");
    this.button = $("send");
    $("ask-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (this.abort) this.abort.abort();
      else this.send();
    });
    this.input.addEventListener("keydown", (e) => {
      // Enter sends; Shift+Enter is a new line; never while a Korean IME is still composing a syllable
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        $("ask-form").requestSubmit();
      }
    });
    $("reset-chat").addEventListener("click", () => this.reset());
  }

  reset() {
    if (this.abort) this.abort.abort();
    this.history = [];
    this.list.replaceChildren();
    $("chat-empty").hidden = false;
    this.input.focus();
  }

  setBusy(busy) {
    this.button.textContent = busy ? "중지" : "보내기";
    this.button.setAttribute("aria-label", busy ? "답변 중지" : "질문 보내기");
    this.button.classList.toggle("stop", busy);
  }

  async send() {
    const question = this.input.value.trim();
    if (!question) {
      this.input.focus();
      return;
    }
    const name = this.collection();
    if (!name) {
      this.notify("먼저 컬렉션을 고르거나 만드세요.");
      return;
    }
    $("chat-empty").hidden = true;
    this.input.value = "";
    this.list.append(h("li", { class: "msg user" }, h("p", { class: "who" }, "질문"), h("p", { class: "body" }, question)));
    const body = h("div", { class: "body answer-text" });
    const meta = h("div", { class: "meta" });
    const item = h("li", { class: "msg bot", "aria-busy": "true" }, h("p", { class: "who" }, "답변"), body, meta);
    const typing = h("span", { class: "typing" }, "찾는 중…");
    body.append(typing);
    this.list.append(item);
    item.scrollIntoView({ block: "end" });

    this.abort = new AbortController();
    this.setBusy(true);
    let text = "";
    let done = null;
    try {
      const history = fitHistory(this.history);
      for await (const ev of this.api().ask(name, question, history, this.abort.signal)) {
        if (ev.type === "token") {
          if (!text) body.replaceChildren();
          text += ev.text;
          body.textContent = text; // plain text while streaming; markers become buttons at the end
          item.scrollIntoView({ block: "end" });
        } else if (ev.type === "done") {
          done = ev.answer;
        }
      }
      if (!done) throw new Error("답변이 끝까지 오지 않았습니다");
      // each citation remembers the revision its offsets point into (the viewer reads that text)
      done.citations = (done.citations || []).map((c) => ({ ...c, revision: done.revision }));
      body.replaceChildren(...renderAnswer(done.answer, done.citations, this.onCite));
      this.renderSources(meta, done);
      this.history.push({ question, answer: done.answer });
    } catch (err) {
      if (err.name === "AbortError") {
        append(body, h("p", { class: "help" }, "(중지했습니다)"));
      } else {
        typing.remove();
        body.append(h("p", { class: "error", role: "alert" }, `답을 받지 못했습니다: ${err.message}`));
      }
    } finally {
      typing.remove();
      item.setAttribute("aria-busy", "false");
      this.abort = null;
      this.setBusy(false);
      this.input.focus();
    }
  }

  renderSources(meta, answer) {
    const cited = answer.citations || [];
    if (cited.length) {
      const list = h("ol", { class: "sources", "aria-label": "출처" });
      for (const c of cited) {
        const where = c.page ? ` · ${c.page}쪽` : "";
        list.append(
          h(
            "li",
            {},
            h("button", { type: "button", class: "source", onclick: () => this.onCite(c) },
              h("span", { class: "n" }, `[${c.n}]`), ` ${c.source}${where}`,
              h("span", { class: "quote" }, `“${c.quote}”`)),
          ),
        );
      }
      meta.append(h("p", { class: "sources-title" }, "출처"), list);
    }
    const notes = [answer.generator ? `생성: ${answer.generator}` : "", ...(answer.notes || [])].filter(Boolean);
    if (notes.length) meta.append(h("p", { class: "help" }, notes.join(" · ")));
  }
}
