// Keyboard shortcuts for the review pages. Loaded as a file: the pages' policy runs no inline script.
// c / i give a verdict (asking for a reason first when it changes the standing status),
// s skips, n or j / p or k go to the next / previous answer, t folds the transcript open or shut.
// No key acts while the focus is in a text field (the reason, the set-aside form).
"use strict";

(function () {
  const form = document.getElementById("verdict");
  const reason = document.getElementById("reason");
  const hint = document.getElementById("hint");
  let pending = null; // the verdict waiting for its reason

  function needsReason(verdict) {
    return form && verdict !== "skip" && verdict !== form.dataset.standing && reason.value.trim() === "";
  }

  function give(verdict) {
    const button = document.getElementById(verdict);
    if (!form || !button) return;
    if (needsReason(verdict)) {
      pending = verdict;
      hint.textContent = "A reason is needed to make it " + verdict + ": type it, then Ctrl+Enter (or click " + verdict + ").";
      reason.focus();
      return;
    }
    form.requestSubmit(button);
  }

  function follow(id) {
    const link = document.getElementById(id);
    if (link) window.location.assign(link.href);
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      const verdict = event.submitter ? event.submitter.value : "";
      if (needsReason(verdict)) {
        event.preventDefault();
        pending = verdict;
        hint.textContent = "A reason is needed to make it " + verdict + " (it stands " + form.dataset.standing + ").";
        reason.focus();
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    const typing = event.target instanceof HTMLElement && event.target.matches("input, textarea, select");
    if (typing) {
      if (event.target === reason && event.key === "Enter" && (event.ctrlKey || event.metaKey) && pending) {
        event.preventDefault();
        give(pending);
      } else if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = {
      c: () => give("correct"),
      i: () => give("incorrect"),
      s: () => give("skip"),
      n: () => follow("next"),
      j: () => follow("next"),
      p: () => follow("previous"),
      k: () => follow("previous"),
      t: () => { const t = document.getElementById("transcript"); if (t) t.open = !t.open; },
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
})();
