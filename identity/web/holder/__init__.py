"""The beneficiary's pages and the mobile app's API."""
