"""Shared service plumbing: settings, logging, metrics, health, database"""
