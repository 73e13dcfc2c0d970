"""Jira connector: task changes to Jira and Jira webhooks back to events"""
