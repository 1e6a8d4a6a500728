// Progressive enhancement only: every page works without this script.
import { initAll } from "./govuk-frontend.min.js";

initAll();

// Suggestions while typing, offered through native <datalist>s so browsers and assistive
// technology present them as they do any autocomplete; the search form works the same without.
const fields = [
  { input: "q", list: "q-suggestions", params: ["q"] },
  { input: "postcode", list: "postcode-suggestions", params: ["postcode"] },
];

for (const field of fields) {
  const input = document.getElementById(field.input);
  const list = document.getElementById(field.list);
  if (!input || !list) continue;
  let pending;
  input.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(() => fill(input.value, list, field.params), 200);
  });
}

async function fill(text, list, params) {
  if (text.trim().length < 2) return;
  const response = await fetch(`/suggest?${new URLSearchParams({ q: text, limit: "5" })}`);
  if (!response.ok) return;
  const { suggestions } = await response.json();
  list.replaceChildren(
    ...suggestions
      .filter((s) => params.includes(s.param))
      .map((s) => Object.assign(document.createElement("option"), { value: s.value, label: s.label })),
  );
}
