"""The compiler's ordered pure passes (DESIGN §10.8), one module each:

normalise → validate → resolve fields → joins → permission scope → runtime filters → limits,
then :mod:`engines.report.build` compiles the plan to one Core statement. Every refusal is a
:class:`~engines.report.errors.ReportError` naming the widget, the pass and the field path.
"""
