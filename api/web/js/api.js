// The rabbit-rag HTTP API as the web app uses it. Every call sends the key the user signed in with
// (Authorization: Bearer); nothing here works without it. Errors become ApiError with a Korean
// message (the server's English detail is kept in `detail`).

import { readEvents } from "./sse.js";

const STATUS_TEXT = {
  0: "서버에 연결할 수 없습니다",
  400: "요청이 올바르지 않습니다",
  401: "API 키가 올바르지 않습니다",
  403: "이 키로는 할 수 없는 작업입니다",
  404: "찾을 수 없습니다",
  409: "지금은 할 수 없습니다 (충돌)",
  410: "그 판은 더 이상 보관되어 있지 않습니다",
  413: "파일이 너무 큽니다",
  415: "지원하지 않는 파일 형식입니다",
  422: "입력을 확인하세요",
  500: "서버 오류가 났습니다",
  502: "언어 모델 서버가 실패했습니다",
  503: "서버가 아직 준비되지 않았거나 모델을 쓸 수 없습니다",
  504: "언어 모델 서버가 제때 답하지 않았습니다",
};

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: no answer)
   * @param {string} type the server's error type, e.g. "IndexNotFoundError"
   * @param {string} detail the server's message
   */
  constructor(status, type, detail) {
    const head = STATUS_TEXT[status] || (status >= 500 ? STATUS_TEXT[500] : STATUS_TEXT[400]);
    super(detail ? `${head}: ${detail}` : head);
    this.status = status;
    this.type = type;
    this.detail = detail;
  }
}

async function errorFrom(response) {
  let type = "HTTPError";
  let detail = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      type = body.error.type || type;
      detail = body.error.message || detail;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, type, detail);
}

const enc = encodeURIComponent;

export class Api {
  /** @param {string} key the API key; @param {() => void} onUnauthorized called on any 401 */
  constructor(key, onUnauthorized = () => {}) {
    this.key = key;
    this.onUnauthorized = onUnauthorized;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  async request(method, path, { json, signal, raw = false } = {}) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: this.headers(json === undefined ? {} : { "Content-Type": "application/json" }),
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
        cache: "no-store",
      });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(0, "NetworkError", String(e.message || e));
    }
    if (!response.ok) {
      const err = await errorFrom(response);
      if (response.status === 401) this.onUnauthorized(err);
      throw err;
    }
    return raw ? response : response.json();
  }

  me() {
    return this.request("GET", "/v1/me");
  }

  collections() {
    return this.request("GET", "/v1/collections");
  }

  collection(name) {
    return this.request("GET", `/v1/collections/${enc(name)}`);
  }

  createCollection(name, embedModel) {
    return this.request("POST", "/v1/collections", { json: { name, embed_model: embedModel } });
  }

  documents(name, limit = 100, offset = 0) {
    return this.request("GET", `/v1/collections/${enc(name)}/documents?limit=${limit}&offset=${offset}`);
  }

  /** A document with its text; `revision` (an answer's) reads the text its citations point into. */
  document(name, docId, revision) {
    const q = revision === undefined || revision === null ? "" : `?revision=${enc(revision)}`;
    return this.request("GET", `/v1/collections/${enc(name)}/documents/${enc(docId)}${q}`);
  }

  deleteDocument(name, docId) {
    return this.request("DELETE", `/v1/collections/${enc(name)}/documents/${enc(docId)}`);
  }

  job(id) {
    return this.request("GET", `/v1/jobs/${enc(id)}`);
  }

  /**
   * The page image of a PDF citation as an object URL (revoke it when done) and its highlight status.
   * 예: const {url, highlight} = await api.pageImage("규정", docId, 2, 120, 160, 1000, 7);
   */
  async pageImage(name, docId, page, start, end, width, revision, signal) {
    const q = new URLSearchParams({ start, end, width });
    if (revision !== undefined && revision !== null) q.set("revision", revision);
    const path = `/v1/collections/${enc(name)}/documents/${enc(docId)}/pages/${page}?${q}`;
    const response = await this.request("GET", path, { signal, raw: true });
    const blob = await response.blob();
    const box = (response.headers.get("X-Highlight-Box") || "").split(",").map(Number);
    return {
      url: URL.createObjectURL(blob),
      highlight: response.headers.get("X-Highlight") || "none",
      box: box.length === 4 && box.every(Number.isFinite) ? box : null, // left, top, right, bottom in image pixels
      pages: Number(response.headers.get("X-Page-Count") || 0),
    };
  }

  /**
   * Ask and stream the answer. Without history: POST /v1/collections/{name}/ask with stream=true
   * (events token…, citations, done). With history (follow-up questions): the OpenAI-compatible
   * POST /v1/chat/completions stream, the API's endpoint that takes earlier turns; its chunks are
   * turned into the same events. Yields {type: "token", text} | {type: "citations", citations} |
   * {type: "done", answer}; throws ApiError.
   * @param {string} name collection
   * @param {string} question
   * @param {{question: string, answer: string}[]} history earlier turns, oldest first
   * @param {AbortSignal} signal
   */
  async *ask(name, question, history, signal) {
    if (!history.length) {
      const response = await this.request("POST", `/v1/collections/${enc(name)}/ask`, {
        json: { question, stream: true },
        signal,
        raw: true,
      });
      for await (const { event, data } of readEvents(response)) {
        const body = JSON.parse(data);
        if (event === "token") yield { type: "token", text: body.text };
        else if (event === "citations") yield { type: "citations", citations: body.citations };
        else if (event === "done") yield { type: "done", answer: body };
        else if (event === "error") throw new ApiError(500, body.error.type, body.error.message);
      }
      return;
    }
    const messages = [];
    for (const turn of history) {
      messages.push({ role: "user", content: turn.question }, { role: "assistant", content: turn.answer });
    }
    messages.push({ role: "user", content: question });
    const response = await this.request("POST", "/v1/chat/completions", {
      json: { model: name, messages, stream: true },
      signal,
      raw: true,
    });
    for await (const { data } of readEvents(response)) {
      if (data === "[DONE]") return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(500, chunk.error.type, chunk.error.message);
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) yield { type: "token", text: choice.delta.content };
      if (choice && choice.finish_reason) {
        yield { type: "citations", citations: chunk.citations || [] };
        yield {
          type: "done",
          answer: {
            question,
            answer: chunk.answer,
            citations: chunk.citations || [],
            sources: chunk.sources || [],
            generator: chunk.generator,
            revision: chunk.revision,
            notes: [],
          },
        };
      }
    }
  }

  /**
   * Upload files with progress (XMLHttpRequest: fetch has no upload progress). Resolves with the job.
   * @param {string} name collection
   * @param {File[]} files
   * @param {(fraction: number) => void} onProgress
   */
  upload(name, files, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const f of files) form.append("files", f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/v1/collections/${enc(name)}/documents`);
      xhr.setRequestHeader("Authorization", `Bearer ${this.key}`);
      xhr.responseType = "json";
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        if (xhr.status === 202) {
          resolve(xhr.response);
          return;
        }
        const err = xhr.response && xhr.response.error;
        const apiErr = new ApiError(xhr.status, err ? err.type : "HTTPError", err ? err.message : `HTTP ${xhr.status}`);
        if (xhr.status === 401) this.onUnauthorized(apiErr);
        reject(apiErr);
      };
      xhr.onerror = () => reject(new ApiError(0, "NetworkError", "업로드 중 연결이 끊겼습니다"));
      xhr.send(form);
    });
  }
}
