// The citation viewer: the cited passage highlighted in its context (the document text endpoint;
// a citation's start/end index that text exactly), and for PDFs the page image rendered by the
// server with the quote highlighted.

import { $, append, h } from "./dom.js";

const CONTEXT = 1200; // characters shown on each side of the quote

export class Viewer {
  /** @param {() => import("./api.js").Api} api @param {() => string} collection */
  constructor(api, collection) {
    this.api = api;
    this.collection = collection;
    this.dialog = $("viewer");
    this.texts = new Map(); // `${collection}/${doc_id}@${revision}` → Promise of the document
    this.objectUrl = null;
    this.abort = null;
    $("viewer-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => this.cleanup());
    // a click on the backdrop (outside the dialog's box) closes it, as Esc does
    this.dialog.addEventListener("click", (e) => {
      if (e.target === this.dialog) this.dialog.close();
    });
  }

  /** Forget cached document texts (after uploads and deletions the texts may have changed). */
  forget() {
    this.texts.clear();
  }

  cleanup() {
    if (this.abort) this.abort.abort();
    this.abort = null;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
    const img = $("page-image");
    img.removeAttribute("src");
    img.hidden = true;
  }

  /** The document as of `revision` (the answer's), or the current one once that revision is gone (410). */
  documentText(docId, revision) {
    const key = `${this.collection()}/${docId}@${revision ?? ""}`;
    if (!this.texts.has(key)) {
      const name = this.collection();
      const p = this.api()
        .document(name, docId, revision)
        .catch((err) => (err.status === 410 ? this.api().document(name, docId) : Promise.reject(err)));
      p.catch(() => this.texts.delete(key));
      this.texts.set(key, p);
    }
    return this.texts.get(key);
  }

  /** Open the viewer on citation `c` ({n, doc_id, source, page, start, end, quote}). */
  async open(c) {
    this.cleanup();
    this.abort = new AbortController();
    const signal = this.abort.signal;
    $("viewer-title").textContent = `출처 [${c.n}]`;
    $("viewer-meta").textContent = c.page ? `${c.source} · ${c.page}쪽` : c.source;
    const context = $("viewer-context");
    context.replaceChildren(h("p", { class: "help" }, "불러오는 중…"));
    const pageSection = $("page-section");
    pageSection.hidden = !c.page;
    $("viewer-body").classList.toggle("has-page", Boolean(c.page));
    if (!this.dialog.open) this.dialog.showModal();

    const textJob = this.documentText(c.doc_id, c.revision).then(
      (doc) => {
        if (signal.aborted) return;
        const text = doc.text;
        const quote = text.slice(c.start, c.end);
        const from = Math.max(0, c.start - CONTEXT);
        const to = Math.min(text.length, c.end + CONTEXT);
        const mark = h("mark", { id: "quote-mark" }, quote);
        context.replaceChildren(
          from > 0 ? "… " : "",
          text.slice(from, c.start),
          mark,
          text.slice(c.end, to),
          to < text.length ? " …" : "",
        );
        if (quote !== c.quote) {
          // the document was replaced since the answer: say so instead of highlighting the wrong words
          context.prepend(h("p", { class: "error" }, "문서가 답변 이후 바뀌어 위치가 달라졌을 수 있습니다."));
        }
        // scroll the context box (only it: the dialog keeps its place) so the quote is in its middle
        context.scrollTop = Math.max(0, mark.offsetTop - context.clientHeight / 2 + mark.offsetHeight / 2);
      },
      (err) => {
        if (!signal.aborted) context.replaceChildren(h("p", { class: "error" }, `본문을 불러오지 못했습니다: ${err.message}`));
      },
    );

    if (c.page) {
      const status = $("page-status");
      const img = $("page-image");
      status.textContent = `${c.page}쪽 이미지를 그리는 중…`;
      const width = Math.min(2000, Math.max(400, Math.round((this.dialog.clientWidth * (window.devicePixelRatio || 1)) / 100) * 100));
      try {
        const page = await this.api().pageImage(this.collection(), c.doc_id, c.page, c.start, c.end, width, c.revision, signal);
        if (signal.aborted) {
          URL.revokeObjectURL(page.url);
          return;
        }
        this.objectUrl = page.url;
        img.onload = () => {
          // scroll the page so the highlight is in the middle of the visible part
          const figure = img.parentElement;
          if (!page.box || !img.naturalHeight) return;
          const y = ((page.box[1] + page.box[3]) / 2) * (img.clientHeight / img.naturalHeight);
          figure.scrollTop = Math.max(0, y - figure.clientHeight / 2);
        };
        img.src = page.url;
        img.alt = `${c.source} ${c.page}쪽. 인용한 문장이 노란색으로 표시되어 있습니다.`;
        img.hidden = false;
        status.textContent = {
          exact: `${c.page}쪽 — 인용한 문장을 노란색으로 표시했습니다.`,
          approximate: `${c.page}쪽 — 인용 위치를 대략 표시했습니다 (PDF의 글자가 본문과 조금 다릅니다).`,
          none: `${c.page}쪽 — 이 쪽에서 인용문의 위치를 찾지 못했습니다.`,
        }[page.highlight] || `${c.page}쪽`;
      } catch (err) {
        if (err.name === "AbortError" || signal.aborted) return;
        status.textContent = "";
        append(status, h("span", { class: "error" }, `쪽 이미지를 보여 줄 수 없습니다: ${err.message}`));
      }
    }
    await textJob;
  }
}
