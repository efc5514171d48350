"""The shared kit every app uses: the list-page kit (``ui``), base tables and filtersets, the
query-parameter validators (``params``), the account-page panel registry (``panels``), the
ExternalId redactor (``secrets``) and the ``skyledger_ui`` template tags.

It holds nothing specific to one app and imports no app at module level (``secrets`` stays free of
Django so the AWS layer may use it).
"""
