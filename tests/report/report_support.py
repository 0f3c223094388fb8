"""Constants shared by the report tests."""

SCRIPT_QUERY = "<script>alert('xss')</script> what is <b>bold</b> & why?"
