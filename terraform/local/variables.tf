# The same inputs as terraform/aws (see ../README.md), plus where the local
# helper programs live.

variable "stack_id" {
  type = string
  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", var.stack_id))
    error_message = "stack_id must match [a-z0-9-]{1,40} and not start or end with '-'."
  }
}

variable "requester" {
  type = string
}

variable "public_key" {
  type        = string
  description = "The user key to trust: ssh-ed25519 AAAA... [comment]"
  validation {
    condition     = can(regex("^ssh-ed25519 [A-Za-z0-9+/=]+( [^\"\\n]*)?$", var.public_key))
    error_message = "public_key must be one ssh-ed25519 public key line."
  }
}

variable "expires_at" {
  type = string
  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", var.expires_at))
    error_message = "expires_at must be an RFC 3339 UTC time."
  }
}

variable "max_ttl_seconds" {
  description = "The box ends this long after it started at the latest, whatever its lease says (JUMPBOX_MAX_TTL)."
  type        = number
  default     = 86400
  validation {
    condition     = var.max_ttl_seconds >= 10 && var.max_ttl_seconds <= 86400 && floor(var.max_ttl_seconds) == var.max_ttl_seconds
    error_message = "max_ttl_seconds must be an integer in 10..86400."
  }
}

variable "allow_cidr" {
  type = string
  validation {
    condition     = can(cidrhost(var.allow_cidr, 0))
    error_message = "allow_cidr must be a CIDR block."
  }
}

variable "permit_open" {
  type        = list(string)
  default     = []
  description = "HOST:PORT targets the box may forward to (the key's permitopen); empty: any."
  validation {
    condition     = length(var.permit_open) <= 16 && alltrue([for t in var.permit_open : can(regex("^([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):([1-9][0-9]{0,4}|\\*)$", t)) && (endswith(t, ":*") || try(tonumber(regex("[0-9]+$", t)) <= 65535, false))])
    error_message = "permit_open must be at most 16 HOST:PORT targets (HOST a DNS name, IPv4 or [IPv6]; PORT 1-65535 or *)."
  }
}

variable "ssh_user" {
  type    = string
  default = "jump"
}

variable "ssh_port" {
  type    = number
  default = 22
}

variable "state_url" {
  type = string
}

variable "teardown_token" {
  type      = string
  sensitive = true
  default   = ""
}

# Local only.

variable "box_dir" {
  type        = string
  description = "Absolute directory for this box's sshd files (created 0700, wiped at destroy)."
}

variable "localbox_bin" {
  type        = string
  description = "Absolute path of jumpbox-localbox."
}

variable "cleaner_bin" {
  type        = string
  description = "Absolute path of cleaner, which the TTL timer runs at expiry."
}

variable "ttl_log" {
  type        = string
  description = "Where the TTL timer appends what happened at expiry."
}
