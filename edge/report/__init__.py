"""The daily report: a day of after-call summaries as a page of plots (``edge report``)."""
