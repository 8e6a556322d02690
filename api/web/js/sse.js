// Server-Sent Events over fetch: EventSource can neither POST nor send the API key header, so the
// response body (a ReadableStream) is decoded here. Follows the HTML spec's parsing rules: lines end
// in \n, \r\n or \r; "event:" names the event, "data:" lines are joined with \n; ":" is a comment;
// a blank line dispatches.

/**
 * Yield {event, data} for each event of a fetch Response's body.
 * 예: for await (const {event, data} of readEvents(response)) console.log(event, JSON.parse(data));
 * @param {Response} response
 * @returns {AsyncGenerator<{event: string, data: string}>}
 */
export async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let event = "";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl;
      // a lone \r at the very end may be the first half of \r\n: wait for more unless the stream ended
      while ((nl = buffer.search(/\r\n|\n|\r(?!$)/)) >= 0 || (done && buffer.endsWith("\r"))) {
        if (nl < 0) nl = buffer.length - 1;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n") };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (done) break; // an event without its blank line is incomplete: dropped, as the spec says
    }
  } finally {
    reader.releaseLock();
  }
}
