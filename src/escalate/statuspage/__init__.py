"""The public status page: service groups, what each shows (built from public updates
only), its 90-day history, e-mail subscribers and the Atom feed."""
