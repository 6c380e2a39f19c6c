"""Email for scenarios: templates rendered in a sandbox, and the MIME message around them."""
