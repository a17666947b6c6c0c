"""WeChat Official Account (公众号) channel: kind ``wechat_mp``."""
