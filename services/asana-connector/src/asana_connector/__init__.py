"""Asana connector: task changes to Asana and Asana webhooks back to events"""
