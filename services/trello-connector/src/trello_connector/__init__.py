"""Trello connector: task changes to Trello and Trello webhooks back to events"""
