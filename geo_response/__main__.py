"""``python -m geo_response``: the same as the ``geo-response`` command."""

from geo_response.cli import main

if __name__ == "__main__":
    main()
