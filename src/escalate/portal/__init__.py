"""The customer portal: invited contacts log in and see only their own account."""
