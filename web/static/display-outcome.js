// A result's outcome in words, the same on tiles and in Latest: the status as a word (DNF, FALSE
// START, ...) and the reason in words. The hub's ``reason_text`` ("time cap 25 s — stopped at 10.5 m")
// wins when a result carries it; else the reason code in words ("time cap reached").

const WORDS = { OK: "FINISHED", FALSE_START: "FALSE START", DNF: "DNF", DQ: "DQ", ABORTED: "ABORTED", RERUN: "RE-RUN" };
const REASONS = {
  time_cap: "time cap reached", manual_stop: "stopped by the instructor", stopped_before_start: "stopped before the start",
  wrong_direction: "went the wrong way", false_start_force: "pulled before GO", false_start_motion: "moved before GO",
  false_start_start_beam: "left the start beam early", false_start_reaction: "reacted in under 0.100 s",
};

export function statusWord(status) { return WORDS[status] || String(status || "").replace(/_/g, " "); }

// the reason code in words ("" for a plain finish)
export function reasonText(r) {
  if (!r || !r.reason || r.reason === "finished") return "";
  return REASONS[r.reason] || r.reason.replace(/_/g, " ");
}

// what a non-OK result shows under its status: reason_text when the hub sent one
export function outcomeText(r) {
  const text = r && typeof r.reason_text === "string" ? r.reason_text.trim() : "";
  return text || reasonText(r);
}
