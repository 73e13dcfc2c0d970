"""The tether command: embedded mode, tokens, operations"""
