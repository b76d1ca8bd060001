"""Staff access (issue 16): second factors, single sign-on, throttling, sessions and their audit.

Who may sign in and how lives here, in one package of the kyc floor, so the staff pages of
`reviews` and the admin of `kyc` share one gate.
"""
