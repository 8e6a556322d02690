// Documents: upload with progress (XMLHttpRequest), the ingest job's status (polling /v1/jobs/{id}),
// the list, and deletion.

import { $, h, num, when } from "./dom.js";

const PAGE = 100;
const POLL_MS = 600;
const STATUS = {
  queued: "대기 중",
  running: "색인하는 중",
  succeeded: "완료",
  failed: "실패",
  cancelled: "취소됨",
};
const FILE_STATUS = {
  added: "추가",
  updated: "새 판으로 교체",
  unchanged: "변경 없음",
  skipped: "건너뜀",
  failed: "실패",
  removed: "삭제",
};

export class Docs {
  /**
   * @param {() => import("./api.js").Api} api
   * @param {() => string} collection
   * @param {{canWrite: () => boolean, changed: () => void, notify: (m: string) => void}} hooks
   */
  constructor(api, collection, hooks) {
    this.api = api;
    this.collection = collection;
    this.hooks = hooks;
    this.shown = 0;
    this.list = $("documents");
    this.input = $("file-input");
    $("pick-files").addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const files = [...this.input.files];
      this.input.value = "";
      if (files.length) this.upload(files);
    });
    $("refresh-docs").addEventListener("click", () => this.load());
    $("more-docs").addEventListener("click", () => this.load(true));
    const pane = $("docs-pane");
    pane.addEventListener("dragover", (e) => {
      if (!this.hooks.canWrite()) return;
      e.preventDefault();
      pane.classList.add("dragging");
    });
    pane.addEventListener("dragleave", () => pane.classList.remove("dragging"));
    pane.addEventListener("drop", (e) => {
      pane.classList.remove("dragging");
      if (!this.hooks.canWrite()) return;
      e.preventDefault();
      const files = [...(e.dataTransfer?.files || [])];
      if (files.length) this.upload(files);
    });
  }

  setWritable(writable) {
    $("upload-area").hidden = !writable;
    $("read-only").hidden = writable;
  }

  clear() {
    this.list.replaceChildren();
    $("uploads").replaceChildren();
    $("doc-count").textContent = "";
    $("more-docs").hidden = true;
  }

  async load(more = false) {
    const name = this.collection();
    if (!name) {
      this.clear();
      return;
    }
    const offset = more ? this.shown : 0;
    try {
      const page = await this.api().documents(name, PAGE, offset);
      if (name !== this.collection()) return; // switched meanwhile
      if (!more) this.list.replaceChildren();
      for (const d of page.documents) this.list.append(this.item(name, d));
      this.shown = offset + page.documents.length;
      $("doc-count").textContent = `(${num(page.total)})`;
      $("more-docs").hidden = this.shown >= page.total;
      if (!page.total) this.list.append(h("li", { class: "empty" }, "아직 문서가 없습니다."));
    } catch (err) {
      this.hooks.notify(`문서 목록을 불러오지 못했습니다: ${err.message}`);
    }
  }

  item(name, d) {
    const m = d.metadata || {};
    const bits = [`${num(d.n_chars)}자`, `청크 ${num(d.n_chunks)}개`];
    if (m.format) bits.push(String(m.format).toUpperCase() + (m.page_count ? ` ${m.page_count}쪽` : ""));
    bits.push(when(d.updated_at));
    const del = this.hooks.canWrite()
      ? h("button", { type: "button", class: "danger", "aria-label": `삭제: ${d.source}`, onclick: () => this.remove(name, d, del) }, "삭제")
      : null;
    return h(
      "li",
      { class: "doc", dataset: { docId: d.doc_id } },
      h("div", { class: "doc-main" }, h("p", { class: "doc-name" }, d.source), h("p", { class: "help" }, bits.join(" · "))),
      del,
    );
  }

  async remove(name, d, button) {
    if (!window.confirm(`「${d.source}」 문서를 지울까요? 되돌릴 수 없습니다.`)) return;
    button.disabled = true;
    try {
      await this.api().deleteDocument(name, d.doc_id);
      this.hooks.notify(`「${d.source}」 문서를 지웠습니다.`);
      this.hooks.changed();
      await this.load();
      $("refresh-docs").focus();
    } catch (err) {
      button.disabled = false;
      this.hooks.notify(`지우지 못했습니다: ${err.message}`);
    }
  }

  async upload(files) {
    const name = this.collection();
    if (!name) {
      this.hooks.notify("먼저 컬렉션을 고르거나 만드세요.");
      return;
    }
    const label = files.length === 1 ? files[0].name : `${files[0].name} 외 ${files.length - 1}개`;
    const bar = h("progress", { max: "100", value: "0", "aria-label": `${label} 올리는 중` });
    const status = h("p", { class: "upload-status", role: "status" }, "올리는 중 0%");
    const details = h("ul", { class: "file-results" });
    const item = h("li", { class: "upload-item" }, h("p", { class: "doc-name" }, label), bar, status, details);
    $("uploads").prepend(item);
    let job;
    try {
      job = await this.api().upload(name, files, (f) => {
        const pct = Math.round(f * 100);
        bar.value = pct;
        item.dataset.progress = String(pct);
        status.textContent = pct < 100 ? `올리는 중 ${pct}%` : "올렸습니다. 색인을 기다리는 중…";
      });
    } catch (err) {
      item.classList.add("failed");
      bar.remove();
      status.textContent = `올리지 못했습니다: ${err.message}`;
      return;
    }
    item.dataset.jobId = job.id;
    bar.removeAttribute("value"); // indeterminate while indexing
    bar.setAttribute("aria-label", `${label} 색인하는 중`);
    for (;;) {
      status.textContent = `${STATUS[job.status] || job.status} (${job.progress.files_done}/${job.progress.files_total})`;
      if (["succeeded", "failed", "cancelled"].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
      try {
        job = await this.api().job(job.id);
      } catch (err) {
        status.textContent = `작업 상태를 알 수 없습니다: ${err.message}`;
        return;
      }
    }
    bar.remove();
    item.classList.add(job.status === "succeeded" && !job.errors.length ? "ok" : "failed");
    const counts = {};
    for (const f of job.files) counts[f.status] = (counts[f.status] || 0) + 1;
    const summary = Object.entries(counts).map(([s, n]) => `${FILE_STATUS[s] || s} ${n}`).join(", ");
    status.textContent = job.status === "succeeded" ? `완료: ${summary || "변경 없음"}` : `실패: ${job.error ? job.error.message : summary}`;
    for (const f of job.files) {
      if (f.status === "failed" || f.status === "skipped") {
        details.append(h("li", { class: "error" }, `${f.source}: ${FILE_STATUS[f.status]} — ${f.reason || ""}`));
      }
    }
    this.hooks.changed();
    await this.load();
  }
}
