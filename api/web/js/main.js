// The web app's entry: sign in with an API key, pick or create a collection, then chat and manage
// documents. The key lives in sessionStorage (gone when the tab closes) or, if the user asks,
// localStorage; it is sent only to this server, in the Authorization header.

import { Api } from "./api.js";
import { Chat } from "./chat.js";
import { Docs } from "./docs.js";
import { $, h } from "./dom.js";
import { Viewer } from "./viewer.js";

const KEY_ITEM = "rabbit-rag.key";
const COLLECTION_ITEM = "rabbit-rag.collection";

const app = {
  api: null,
  me: null,
  collection: "",
  canWrite: () => Boolean(app.me && app.me.scopes.includes("write")),
};

const storedKey = () => sessionStorage.getItem(KEY_ITEM) || localStorage.getItem(KEY_ITEM) || "";

function notify(message) {
  const el = $("notice");
  el.textContent = message;
  el.hidden = !message;
  clearTimeout(notify.timer);
  if (message) notify.timer = setTimeout(() => (el.hidden = true), 8000);
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY_ITEM);
  localStorage.removeItem(KEY_ITEM);
  app.api = null;
  app.me = null;
  chat.reset();
  docs.clear();
  viewer.forget();
  $("app-view").hidden = true;
  $("signin-view").hidden = false;
  $("signin-error").textContent = message;
  $("api-key").value = "";
  $("api-key").focus();
}

const chat = new Chat(() => app.api, () => app.collection, (c) => viewer.open(c), notify);
const viewer = new Viewer(() => app.api, () => app.collection);
const docs = new Docs(() => app.api, () => app.collection, {
  canWrite: app.canWrite,
  changed: () => {
    viewer.forget();
    refreshCounts();
  },
  notify,
});

/** Update the document counts shown in the collection picker (after uploads and deletions). */
async function refreshCounts() {
  try {
    const { collections } = await app.api.collections();
    for (const c of collections) {
      const option = [...$("collection").options].find((o) => o.value === c.name);
      if (option) option.textContent = optionLabel(c);
    }
  } catch {
    /* the counts are a convenience; the list itself is still right */
  }
}

const optionLabel = (c) => `${c.name} (문서 ${c.documents})`;

async function signIn(key, remember) {
  const api = new Api(key, () => signOut("키가 더 이상 유효하지 않습니다. 다시 로그인하세요."));
  const me = await api.me(); // 401 here: a wrong key
  app.api = api;
  app.me = me;
  (remember ? localStorage : sessionStorage).setItem(KEY_ITEM, key);
  $("key-name").textContent = me.auth === "disabled" ? "인증 꺼짐(개발용)" : `${me.name} (${me.scopes.join(", ")})`;
  $("new-collection").hidden = !app.canWrite();
  docs.setWritable(app.canWrite());
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  await loadCollections(localStorage.getItem(COLLECTION_ITEM) || "");
  $("question").focus();
}

async function loadCollections(prefer) {
  const select = $("collection");
  let list = [];
  try {
    list = (await app.api.collections()).collections;
  } catch (err) {
    notify(`컬렉션 목록을 불러오지 못했습니다: ${err.message}`);
  }
  select.replaceChildren();
  if (!list.length) {
    select.append(h("option", { value: "" }, "컬렉션 없음"));
    select.disabled = true;
    notify(app.canWrite() ? "컬렉션이 없습니다. 「새 컬렉션」으로 만드세요." : "이 키로 읽을 수 있는 컬렉션이 없습니다.");
  } else {
    select.disabled = false;
    for (const c of list) {
      select.append(h("option", { value: c.name }, optionLabel(c)));
    }
  }
  const names = list.map((c) => c.name);
  selectCollection(names.includes(prefer) ? prefer : names[0] || "");
}

function selectCollection(name) {
  const changed = name !== app.collection;
  app.collection = name;
  $("collection").value = name;
  if (name) localStorage.setItem(COLLECTION_ITEM, name);
  if (changed) {
    chat.reset();
    viewer.forget();
  }
  docs.load();
}

// -- sign in -----------------------------------------------------------------------------------------
$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const key = $("api-key").value.trim();
  const error = $("signin-error");
  if (!key) {
    error.textContent = "API 키를 입력하세요.";
    $("api-key").focus();
    return;
  }
  error.textContent = "확인하는 중…";
  try {
    await signIn(key, $("remember").checked);
    error.textContent = "";
  } catch (err) {
    error.textContent = err.status === 401 ? "키가 올바르지 않습니다. 다시 확인하세요." : err.message;
    $("api-key").select();
  }
});

$("signout").addEventListener("click", () => signOut());
$("collection").addEventListener("change", (e) => selectCollection(e.target.value));

// -- create a collection ----------------------------------------------------------------------------
const createDialog = $("create-dialog");
$("new-collection").addEventListener("click", () => {
  $("create-error").textContent = "";
  $("new-name").value = "";
  createDialog.showModal();
  $("new-name").focus();
});
$("create-cancel").addEventListener("click", () => createDialog.close());
$("create-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("new-name").value.trim().normalize("NFC");
  if (!/^[0-9A-Za-z가-힣_-]{1,64}$/.test(name)) {
    $("create-error").textContent = "이름은 한글, 영문, 숫자, _ 와 - 로 1~64자여야 합니다.";
    $("new-name").focus();
    return;
  }
  try {
    await app.api.createCollection(name, $("new-embed").value);
    createDialog.close();
    await loadCollections(name);
    notify(`「${name}」 컬렉션을 만들었습니다. 문서를 올려 보세요.`);
    showTab("docs");
    $("pick-files").focus();
  } catch (err) {
    $("create-error").textContent = err.message;
  }
});

// -- tabs (phone width: one pane at a time) ----------------------------------------------------------
function showTab(which) {
  const tabs = { chat: $("tab-chat"), docs: $("tab-docs") };
  for (const [name, tab] of Object.entries(tabs)) {
    const on = name === which;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).classList.toggle("active", on);
  }
}
$("tab-chat").addEventListener("click", () => showTab("chat"));
$("tab-docs").addEventListener("click", () => showTab("docs"));
document.querySelector(".tabs").addEventListener("keydown", (e) => {
  if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
  const next = $("tab-chat").getAttribute("aria-selected") === "true" ? "docs" : "chat";
  showTab(next);
  $(`tab-${next}`).focus();
});
showTab("chat");

// -- start -------------------------------------------------------------------------------------------
(async () => {
  const key = storedKey();
  if (!key) {
    signOut();
    return;
  }
  try {
    await signIn(key, Boolean(localStorage.getItem(KEY_ITEM)));
  } catch (err) {
    signOut(err.status === 401 ? "저장된 키가 더 이상 유효하지 않습니다. 다시 로그인하세요." : err.message);
  }
})();
