"""The PowerOffice Go integration: its models, client keys at rest (crypto), the one translator
of PowerOffice's errors to Norwegian (messages) and the demo's connections (demo); the client
(client/), the sandbox (sandbox/) and the features datadeling/, invoices/, payments/, chart/ and
salary/."""
