"""Personal-data protection: encryption at rest with blind indexes. Masking lives in shouhu.model.masking."""

from shouhu.privacy.crypto import FieldCipher, cipher_from_settings

__all__ = ["FieldCipher", "cipher_from_settings"]
