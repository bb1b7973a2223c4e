"""geo_response.compliance."""
