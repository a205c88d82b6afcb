"""Live: what visitors see on phones, the big screen and at the ceremony."""
