"""The app builder's pages: the designers business users build their apps with (DESIGN §8).

Pages live under ``/build``; templates under ``templates/builder/`` (rendered by the web UI's
environment, ``runtime.web.templating``); scripts and styles in ``static/``, served at
``/static/builder/``. Designers edit the app's draft through the JSON API (``builder.apps``).
"""
