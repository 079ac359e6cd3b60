"""What providers tell us: delivery statuses, call outcomes and borrowers' replies.

Every report is stored once (``delivery_reports``, keyed by the adapter's dedupe key within
the route it came on), so a replayed webhook changes nothing. A report is only ever a replay
of one that came on the same route (whose credentials signed it) and that also matched, or
also did not match, something we know: a report that concerned nothing, early, misrouted or
forged with a tenant's own credentials, can never make the genuine one a duplicate.

An attempt's status only moves forward (queued → sent → delivered / undelivered / failed /
bounced): a late ``sent`` never overwrites ``delivered``, whatever order the reports arrive
in. Call outcomes become the facts the compliance engine counts (a conversation starts
Regulation F's 7-day call pause); a STOP becomes an opt-out at once, cancelling what it
forbids.

Modules: :mod:`~orchestrator.inbound.apply` stores each report once and hands it on;
:mod:`~orchestrator.inbound.delivery` moves attempts and tasks forward (and fails over);
:mod:`~orchestrator.inbound.calls` turns how a call ended into facts and events;
:mod:`~orchestrator.inbound.replies` turns a borrower's STOP or START into an event.
"""
