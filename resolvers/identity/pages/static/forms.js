// The forms that links in mails open (resolvers/identity/pages/serving.py): send the page's one mutation
// with the link's token and the fields, then show the answer. No framework, no inline script (CSP).
"use strict";

(function () {
  const form = document.querySelector("form[data-document]");
  const result = document.getElementById("result");
  const token = new URLSearchParams(window.location.search).get("token") || "";

  function say(text, kind) {
    result.textContent = text;
    result.className = kind;
  }

  function clearProblems() {
    form.querySelectorAll(".problem").forEach((node) => node.remove());
  }

  function problemAt(name, message) {
    const input = form.querySelector(`input[name="${name}"]`);
    if (!input) return false;
    const note = document.createElement("div");
    note.className = "problem";
    note.textContent = message;
    input.insertAdjacentElement("afterend", note);
    return true;
  }

  function readInput() {
    const input = { token: token };
    let differ = false;
    form.querySelectorAll("input").forEach((field) => {
      if (field.name.endsWith("Repeat")) {
        const original = form.querySelector(`input[name="${field.name.slice(0, -"Repeat".length)}"]`);
        if (original.value !== field.value) differ = problemAt(field.name, "The two entries differ.") || true;
      } else if (field.value !== "") {
        input[field.name] = field.value;
      }
    });
    return differ ? null : input;
  }

  async function submit(event) {
    event.preventDefault();
    clearProblems();
    say("", "");
    const input = readInput();
    if (input === null) return;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ query: form.dataset.document, variables: { input: input } }),
      });
      const answer = await response.json();
      if (answer.errors && answer.errors.length) {
        say(answer.errors.map((error) => error.message).join(" "), "failed");
        return;
      }
      const payload = Object.values(answer.data)[0];
      if (payload.errors.length) {
        const elsewhere = payload.errors.filter((error) => !problemAt(lastPart(error.field), error.message));
        say(elsewhere.map((error) => error.message).join(" ") || "Please correct the marked fields.", "failed");
        return;
      }
      const email = (payload.user && payload.user.email) || payload.email || "";
      form.hidden = true;
      result.innerHTML = "";
      const done = document.createElement("span");
      // the text is the server's own (data-done); only the address is inserted, as text
      const [before, after] = form.dataset.done.split("{email}");
      done.innerHTML = before;
      if (after !== undefined) done.append(document.createTextNode(email), rendered(after));
      result.append(done);
      result.className = "done";
    } catch (error) {
      say("The server could not be reached; try again.", "failed");
    } finally {
      button.disabled = false;
    }
  }

  function rendered(markup) {
    const span = document.createElement("span");
    span.innerHTML = markup;
    return span;
  }

  // an error's field is the path to the input field, e.g. ["password"]
  function lastPart(field) {
    return Array.isArray(field) && field.length ? field[field.length - 1] : "";
  }

  if (!token) {
    form.hidden = true;
    say("This link has no token: open the link from your e-mail as it is.", "failed");
    return;
  }
  form.addEventListener("submit", submit);
})();
