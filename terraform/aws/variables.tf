# ---- The common variables (terraform/README.md) -----------------------------

variable "stack_id" {
  description = "Stack id, [a-z0-9-]{1,40}."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.stack_id))
    error_message = "stack_id must match [a-z0-9-]{1,40}."
  }
}

variable "requester" {
  description = "Who asked for the box (audit, tags)."
  type        = string
  validation {
    condition     = length(var.requester) >= 1 && length(var.requester) <= 256 && !can(regex("[\\x00-\\x1f\\x7f]", var.requester))
    error_message = "requester must be 1..256 printable characters."
  }
}

variable "public_key" {
  description = "\"ssh-ed25519 AAAA... comment\": the user key to trust."
  type        = string
}

variable "expires_at" {
  description = "RFC 3339 UTC; the box tears itself down then."
  type        = string
}

variable "allow_cidr" {
  description = "The only source allowed to reach the SSH port."
  type        = string
  validation {
    condition     = can(cidrhost(var.allow_cidr, 0)) && can(regex("/[0-9]{1,3}$", var.allow_cidr))
    error_message = "allow_cidr must be an IPv4 or IPv6 CIDR such as 203.0.113.7/32."
  }
  validation {
    condition     = var.allow_any_cidr || !can(regex("/0+$", var.allow_cidr))
    error_message = "allow_cidr opens SSH to the whole Internet (/0); set allow_any_cidr = true if that is really meant."
  }
}

variable "permit_open" {
  description = "HOST:PORT targets the box may forward to (sshd's PermitOpen); empty: any, as before the option existed."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.permit_open) <= 16 && alltrue([for t in var.permit_open : can(regex("^([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):([1-9][0-9]{0,4}|\\*)$", t)) && (endswith(t, ":*") || try(tonumber(regex("[0-9]+$", t)) <= 65535, false))])
    error_message = "permit_open must be at most 16 HOST:PORT targets (HOST a DNS name, IPv4 or [IPv6]; PORT 1-65535 or *)."
  }
}

variable "ssh_user" {
  description = "Login user."
  type        = string
  default     = "jump"
}

variable "ssh_port" {
  description = "SSH port."
  type        = number
  default     = 22
}

variable "state_url" {
  description = "Where the lease lives (tagged on the box so the sweeper can match it). This module needs s3://BUCKET[/PREFIX]: the box publishes its host key and token hash there."
  type        = string
  default     = ""
}

# ---- Specific to this module (defaults match terraform/control-plane) ------

variable "box_role_id" {
  description = "Unique id (RoleId, AROA...) of the instance profile's role: the control plane's box_role_id output. The box writes its host key, token hash and sshd log under PREFIX/boxes/ROLE_ID:INSTANCE_ID/ (its aws:userid), where the provisioner reads them."
  type        = string
  validation {
    condition     = can(regex("^[A-Z0-9]{16,128}$", var.box_role_id))
    error_message = "box_role_id must be the box role's unique id, [A-Z0-9]{16,128} (AROA...)."
  }
}

variable "region" {
  description = "Region of the clean function the box's timer calls; empty: the provider's region."
  type        = string
  default     = ""
}

variable "clean_function_name" {
  description = "Name or ARN of the clean function the box's timer invokes."
  type        = string
  default     = "jumpbox-clean"
}

variable "instance_profile_name" {
  description = "Instance profile that may invoke the clean function only (made by terraform/control-plane). Empty: none, and only the poweroff backstop and the sweeper end the box."
  type        = string
  default     = "jumpbox-box"
}

variable "vpc_id" {
  description = "VPC for the security group. Empty: the subnet's VPC, or the default VPC when subnet_id is empty too."
  type        = string
  default     = ""
}

variable "subnet_id" {
  description = "Subnet for the instance. Empty: a default subnet of the default VPC."
  type        = string
  default     = ""
}

variable "associate_public_ip" {
  description = "Give the box a public IPv4 address (and report it as host)."
  type        = bool
  default     = false
}

variable "allow_any_cidr" {
  description = "Permit allow_cidr to be 0.0.0.0/0 or ::/0."
  type        = bool
  default     = false
}

variable "instance_type" {
  description = "Instance type; empty: t4g.nano for arm64, t3.nano for amd64 (ami_architecture). Its architecture must be the AMI's."
  type        = string
  default     = ""
}

variable "ami_os" {
  description = "Whose official AMI the box boots: \"debian-13\" (Debian 13, the OS the tests boot) or \"al2023\" (Amazon Linux 2023: selectable, never booted by the tests)."
  type        = string
  default     = "debian-13"
  validation {
    condition     = contains(["debian-13", "al2023"], var.ami_os)
    error_message = "ami_os must be \"debian-13\" or \"al2023\"."
  }
}

variable "ami_architecture" {
  description = "\"arm64\" or \"amd64\" (x86_64): picks the AMI's public SSM parameter and the default instance_type."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "amd64"], var.ami_architecture)
    error_message = "ami_architecture must be \"arm64\" or \"amd64\"."
  }
}

variable "ami_ssm_parameter" {
  description = "Public SSM parameter naming the AMI; empty: the latest release of ami_os for ami_architecture. The build role may read only Debian 13's and Amazon Linux's (terraform/control-plane)."
  type        = string
  default     = ""
}

variable "ami_id" {
  description = "AMI override; when set, the SSM parameter is not read."
  type        = string
  default     = ""
  validation {
    condition     = var.ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be empty or ami-xxxxxxxx."
  }
}

variable "egress_cidrs" {
  description = "Where the box may open TCP connections (the jump targets, and the Lambda endpoint for the teardown timer)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = alltrue([for c in var.egress_cidrs : can(cidrhost(c, 0))])
    error_message = "egress_cidrs must be CIDRs."
  }
}

variable "poweroff_grace_minutes" {
  description = "Minutes after expires_at at which the box powers itself off (and so terminates) whatever the clean function did."
  type        = number
  default     = 10
}

variable "deadline_poll_seconds" {
  description = "How often (5..300 s) the box reads its deadline object, PREFIX/deadlines/ROLE_ID:INSTANCE_ID.json, and re-arms its teardown and poweroff timers: a lapsed keep-alive or an extension reaches the box within this."
  type        = number
  default     = 15
}

variable "max_ttl_seconds" {
  description = "The box's own hard cap (10..86400 s): no deadline object arms its teardown later than its boot + this, nor its poweroff backstop later than a grace after that."
  type        = number
  default     = 86400
}
