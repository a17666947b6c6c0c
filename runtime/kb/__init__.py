"""The knowledge base of an app with a knowledge mapping (``IntakeSpec.knowledge``): search
(``runtime.kb.search``), its index (``runtime.kb.index``), versions, review and feedback."""
