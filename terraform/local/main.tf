# The embedded default jump box: a real OpenSSH sshd on 127.0.0.1, started
# and stopped by Terraform through jumpbox-localbox (argv via `interpreter`,
# no shell), with no provider to download.

terraform {
  required_version = ">= 1.4"
}

# Stops the box at destroy.  A resource of its own because Terraform skips
# the destroy-time provisioners of a tainted resource, and "box" is tainted
# when its create step is interrupted after sshd started.
resource "terraform_data" "teardown" {
  input = {
    box_dir      = var.box_dir
    localbox_bin = var.localbox_bin
    stack_id     = var.stack_id
    state_url    = var.state_url
  }

  # Before the box goes, its sshd log goes to the stack's audit records.
  provisioner "local-exec" {
    when = destroy
    interpreter = [
      self.input.localbox_bin, "down",
      "--stack-id", self.input.stack_id,
      "--state", self.input.state_url,
      "--dir",
    ]
    command = self.input.box_dir
  }
}

resource "terraform_data" "box" {
  depends_on = [terraform_data.teardown]

  input = {
    stack_id   = var.stack_id
    box_dir    = var.box_dir
    port       = var.ssh_port
    expires_at = var.expires_at
  }

  provisioner "local-exec" {
    interpreter = concat([
      var.localbox_bin, "up",
      "--stack-id", var.stack_id,
      "--port", tostring(var.ssh_port),
      "--user", var.ssh_user,
      "--allow-cidr", var.allow_cidr,
      "--public-key", var.public_key,
      "--expires-at", var.expires_at,
      "--cleaner", var.cleaner_bin,
      "--state", var.state_url,
      "--log", var.ttl_log,
      "--max-ttl", "${var.max_ttl_seconds}s",
      ], flatten([for t in var.permit_open : ["--permit-open", t]]), [
      "--dir",
    ])
    command = var.box_dir
  }
}
