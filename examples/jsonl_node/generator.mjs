#!/usr/bin/env node
// A loss-mask generator in JavaScript, scored by `lossmask check "jsonl:node examples/jsonl_node/generator.mjs"`.
//
// Why it exists: to show that a non-Python trainer can be scored through the JSON-lines protocol
// (fixtures/schema/protocol.schema.json), and to measure how far the JS stack (@huggingface/jinja for the chat
// template, @huggingface/tokenizers for the tokenizer) is from Python's jinja2 + tokenizers on the same files.
//
// Protocol: one handshake line, then one JSON request per stdin line -> one JSON response per stdout line, in order.
// Logs go to stderr only. Errors are answered per case as {id, error}.
//
// Mask strategy (prefix renders anchored in the full render; canonical profile):
//   T = render(all messages). For each weighted assistant message i:
//   start = the length of the common prefix of T and render(messages[:i], add_generation_prompt=true)
//           (so the role header and any generation-prompt suffix such as Qwen3.5's "<think>\n" are not supervised;
//           for a history turn the template writes without that suffix, the common prefix stops after the header);
//   end   = the end of the first end-of-turn token in T after the message's content (the end-of-turn tokens are
//           learned once per template from a probe render), so the separator after it is not supervised.
//   A token is supervised when its characters overlap [start, end) (a straddling token is supervised).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";

// Templates that print today's date (Llama 3, gpt-oss) call strftime_now(), which @huggingface/jinja implements
// with `new Date()` and does not let a caller override (the global is declared before user variables). The goldens
// pin 2026-01-15, so pin the argument-less Date constructor here (this process does nothing else with dates).
const RealDate = Date;
globalThis.Date = class PinnedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(2026, 0, 15);
    else super(...args);
  }
};

const WEIGHT_KEYS = ["step_loss_mask", "train", "training", "weight", "loss", "trainable"];
const SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"];

// GPT-2 byte-level alphabet: the unicode character each byte is written as in a byte-level BPE vocabulary.
function byteDecoder() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  }
  return new Map(cs.map((c, i) => [String.fromCodePoint(c), bs[i]]));
}
const BYTES = byteDecoder();
const utf8 = new TextEncoder();

const tokenizers = new Map(); // tokenizer_dir -> {tokenizer, config, added: Map(id -> content), specials}
function loadTokenizer(dir) {
  if (!tokenizers.has(dir)) {
    const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
    const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
    const added = new Map((json.added_tokens || []).map((t) => [t.id, t.content]));
    const specials = {};
    for (const key of SPECIAL_KEYS) {
      const v = config[key];
      if (v != null) specials[key] = typeof v === "string" ? v : v.content;
    }
    tokenizers.set(dir, { tokenizer: new Tokenizer(json, config), added, specials });
  }
  return tokenizers.get(dir);
}

const templates = new Map();
function render(tok, source, messages, tools, kwargs, addGenerationPrompt) {
  if (!templates.has(source)) templates.set(source, new Template(source));
  return templates.get(source).render({
    ...tok.specials, ...kwargs, messages, tools: tools ?? null, add_generation_prompt: addGenerationPrompt,
  });
}

// Character [start, end) of each token in `text`, from the token's bytes (added tokens are their own text).
function tokenSpans(tok, text, ids, pieces) {
  const charAtByte = []; // byte offset -> index of the UTF-16 unit starting the character that holds it
  let unit = 0;
  for (const ch of text) {
    const len = utf8.encode(ch).length;
    for (let k = 0; k < len; k++) charAtByte.push(unit);
    unit += ch.length;
  }
  charAtByte.push(text.length);
  let at = 0;
  return ids.map((id, i) => {
    const piece = tok.added.has(id) ? tok.added.get(id) : pieces[i];
    let n = 0;
    for (const ch of piece) n += BYTES.has(ch) && !tok.added.has(id) ? 1 : utf8.encode(ch).length;
    const span = [charAtByte[at], charAtByte[Math.min(at + n, charAtByte.length - 1)]];
    at += n;
    return span;
  });
}

function weight(message) {
  for (const key of WEIGHT_KEYS) {
    const v = message[key];
    if (v === undefined || v === null) continue;
    return typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
  }
  return 1;
}

// The added tokens a template writes right after an assistant message (last turn and mid-conversation).
const eotCache = new Map();
function endOfTurnTokens(tok, source, kwargs) {
  const key = source + "\u0000" + JSON.stringify(kwargs);
  if (eotCache.has(key)) return eotCache.get(key);
  const found = new Set();
  const probes = [
    [{ role: "user", content: "LMXU" }, { role: "assistant", content: "LMXA" }],
    [{ role: "user", content: "LMXU" }, { role: "assistant", content: "LMXA" }, { role: "user", content: "LMXV" }],
  ];
  for (const probe of probes) {
    try {
      const text = render(tok, source, probe, null, kwargs, false);
      const after = text.slice(text.indexOf("LMXA") + 4).trimStart();
      for (const content of tok.added.values()) if (content && after.startsWith(content)) found.add(content);
    } catch (err) {
      process.stderr.write(`probe render failed: ${err.message}\n`);
    }
  }
  if (found.size === 0 && tok.specials.eos_token) found.add(tok.specials.eos_token);
  eotCache.set(key, [...found]);
  return eotCache.get(key);
}

function assistantSpans(tok, source, messages, tools, kwargs, text) {
  const eots = endOfTurnTokens(tok, source, kwargs);
  const spans = [];
  messages.forEach((m, i) => {
    if (m.role !== "assistant" || weight(m) === 0) return;
    const prompt = i === 0 ? "" : render(tok, source, messages.slice(0, i), tools, kwargs, true);
    // Usually a prefix of the full render; not for a history turn whose generation prompt differs from how the
    // template writes that turn later (Qwen3.5 opens "<think>\n" only for the turn being generated).
    let start = 0;
    while (start < prompt.length && prompt[start] === text[start]) start++;
    let from = start;
    const content = typeof m.content === "string" ? m.content.trim() : "";
    if (content) {
      const at = text.indexOf(content, start);
      if (at >= 0) from = at + content.length;
    }
    let end = -1;
    for (const eot of eots) {
      const at = text.indexOf(eot, from);
      if (at >= 0 && (end < 0 || at + eot.length < end)) end = at + eot.length;
    }
    spans.push([start, end < 0 ? text.trimEnd().length : end]);
  });
  return spans;
}

function answer(req) {
  const tok = loadTokenizer(req.tokenizer_dir);
  const kwargs = req.template_kwargs || {};
  let text;
  try {
    text = render(tok, req.chat_template, req.messages, req.tools, kwargs, false);
  } catch (err) {
    return { id: req.id, error: `template refused the conversation: ${err.message}` };
  }
  const enc = tok.tokenizer.encode(text, { add_special_tokens: false });
  const spans = assistantSpans(tok, req.chat_template, req.messages, req.tools, kwargs, text);
  const loss_mask = tokenSpans(tok, text, enc.ids, enc.tokens).map(([s, e]) =>
    spans.some(([a, b]) => s < b && e > a) ? 1 : 0);
  return { id: req.id, input_ids: enc.ids, loss_mask };
}

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
process.stdout.write(JSON.stringify({ protocol: 1, name: "jsonl-node-example", version: pkg.version, profile: "canonical" }) + "\n");
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let req;
  let out;
  try {
    req = JSON.parse(line);
    out = answer(req);
  } catch (err) {
    out = { id: req?.id ?? "", error: `${err.name}: ${err.message}` };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
