"""Customer accounts, their contacts, contracts, the services they use and their health."""
