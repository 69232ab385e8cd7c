"""``realdream verify``'s prober: which facts of :mod:`realdream.contract` hold against the
service behind a base URL, within a spending cap.

The public names are :func:`realdream.verify`, :func:`realdream.averify`,
:class:`realdream.VerifyReport`, :class:`realdream.VerifyRow` and
:data:`realdream.DEFAULT_VERIFY_MAX_COST`; ``realdream.verify`` is the function, not this
package. One concept a module, each importing only those listed before it:

- ``_probes``: the requests sent, and what a 200 to each would cost;
- ``_exchange``: one request and its answer, and what is read from an answer to go on (a job's
  id and state, the balance, an announced cost);
- ``_observations``: everything the run saw, the balance's drop around each probe included;
- ``_spending``: the budget, settled with what the balance measured;
- ``_describe``: answers in a few words, for the rows;
- ``_rows``: a row, a check, and how a check's probe is judged;
- ``_money_checks``, ``_status_checks``, ``_image_checks``, ``_job_checks``: the checks;
- ``_table``: every fact's row, in order;
- ``_report``: the report and the cost announcement;
- ``_sender``: one request, with a 429 waited out;
- ``_job``: the v2 probe's job, from submit to result;
- ``_runner``: sends the probes in order, within the budget;
- ``_api``: :func:`verify` and :func:`averify`.

Nothing is imported here: ``import realdream`` loads this package (for the default cap), and
the prober loads with its first use.
"""
