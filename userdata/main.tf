# Renders the jump box's cloud-config.  A module of its own so that the aws
# module and the tests render exactly the same text.
terraform {
  required_version = ">= 1.9"
}

locals {
  # The box's scripts without their comment lines (not the shebang, not
  # shellcheck's directives): the comments are for this repository, and
  # EC2 takes 16 KiB of user data.
  scripts = {
    for name in ["jumpbox-aws.sh", "jumpbox-teardown.sh", "jumpbox-publish.sh", "jumpbox-audit-ship.sh", "jumpbox-deadline.sh"] :
    name => replace(file("${path.module}/${name}"), "/(?m)^[ \t]*#( [^s].*)?\n/", "")
  }
  # s3://BUCKET[/PREFIX]: the box writes under PREFIX/boxes/ROLE_ID:INSTANCE_ID/
  # (its host key, its token's hash, its sshd log), the state's PREFIX as
  # lib/stack/state.c reads it: "" or ending in "/".
  state_parts  = regex("^s3://([^/]+)/?(.*)$", var.state_url)
  state_prefix = trimsuffix(local.state_parts[1], "/")
  # What the box's scripts are told (jumpbox-aws.sh, jb_box_prefix).
  box_env = {
    JUMPBOX_STATE_BUCKET = local.state_parts[0]
    JUMPBOX_STATE_PREFIX = local.state_prefix == "" ? "" : "${local.state_prefix}/"
    JUMPBOX_BOX_ROLE_ID  = var.box_role_id
    JUMPBOX_REGION       = var.region
  }

  poweroff_at = timeadd(var.expires_at, "${var.poweroff_grace_minutes}m")
  # systemd calendar syntax, pinned to UTC whatever the box's time zone.
  teardown_calendar = "${formatdate("YYYY-MM-DD hh:mm:ss", var.expires_at)} UTC"
  poweroff_calendar = "${formatdate("YYYY-MM-DD hh:mm:ss", local.poweroff_at)} UTC"

  # Comment lines, which the units and the sshd drop-in lose too (below).
  comments = "/(?m)^[ \t]*#( .*)?\n/"

  rendered = templatefile("${path.module}/cloud-config.yaml.tftpl", {
    stack_id   = var.stack_id
    expires_at = var.expires_at
    ssh_user   = var.ssh_user
    public_key = var.public_key
    # The longer files go gzipped (cloud-init unpacks them): EC2 takes 16 KiB
    # of user data.  The timers stay plain, to be read in it.
    sshd_config = base64gzip(replace(templatefile("${path.module}/sshd-jumpbox.conf.tftpl", {
      ssh_port    = var.ssh_port
      ssh_user    = var.ssh_user
      permit_open = var.permit_open
    }), local.comments, ""))
    aws_lib         = local.scripts["jumpbox-aws.sh"]
    teardown_script = local.scripts["jumpbox-teardown.sh"]
    publish_script  = local.scripts["jumpbox-publish.sh"]
    publish_cmd = concat(["env"], [for k, v in local.box_env : "${k}=${v}"],
    ["/usr/local/sbin/jumpbox-publish"])
    teardown_service = base64gzip(replace(templatefile("${path.module}/jumpbox-teardown.service.tftpl", {
      stack_id       = var.stack_id
      clean_function = var.clean_function_name
      region         = var.region
    }), local.comments, ""))
    teardown_timer = templatefile("${path.module}/jumpbox-teardown.timer.tftpl", {
      stack_id    = var.stack_id
      expires_at  = var.expires_at
      on_calendar = local.teardown_calendar
    })
    audit_ship_script = local.scripts["jumpbox-audit-ship.sh"]
    audit_service = base64gzip(replace(templatefile("${path.module}/jumpbox-audit.service.tftpl", {
      stack_id = var.stack_id
      env      = local.box_env
    }), local.comments, ""))
    deadline_script = local.scripts["jumpbox-deadline.sh"]
    # What the box follows after its user data: its deadline object, read
    # every deadline_poll_seconds (jumpbox-deadline.sh).
    deadline_service = base64gzip(replace(templatefile("${path.module}/jumpbox-deadline.service.tftpl", {
      stack_id = var.stack_id
      env = merge(local.box_env, {
        JUMPBOX_STACK_ID               = var.stack_id
        JUMPBOX_EXPIRES_AT             = var.expires_at
        JUMPBOX_MAX_TTL_SECONDS        = var.max_ttl_seconds
        JUMPBOX_POWEROFF_GRACE_SECONDS = var.poweroff_grace_minutes * 60
      })
    }), local.comments, ""))
    deadline_timer = templatefile("${path.module}/jumpbox-deadline.timer.tftpl", {
      stack_id     = var.stack_id
      poll_seconds = var.deadline_poll_seconds
    })
    poweroff_service = file("${path.module}/jumpbox-poweroff.service")
    poweroff_timer = templatefile("${path.module}/jumpbox-poweroff.timer.tftpl", {
      stack_id    = var.stack_id
      poweroff_at = local.poweroff_at
      on_calendar = local.poweroff_calendar
    })
  })
}

# Without its comment lines either, the units' and the sshd drop-in's
# included ("#cloud-config" stays: no space after its "#").
output "cloud_config" {
  description = "The #cloud-config user data (nothing secret: EC2 shows it to whoever may DescribeInstanceAttribute)."
  value       = replace(local.rendered, local.comments, "")
}
